"""Instruction-set caps: one ``--isa`` name, translated into each library's own cap variable.

The caps are environment variables read when a library loads, so the parent sets them in the
worker's environment before any engine is imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cnnbench.errors import BadInput


@dataclass(frozen=True)
class IsaCap:
    name: str
    needs_flags: tuple[str, ...]  # /proc/cpuinfo flags the machine must have
    onednn: str  # ONEDNN_MAX_CPU_ISA (oneDNN in PyTorch and OpenVINO) and OV_CPU_MAX_ISA
    aten: str  # ATEN_CPU_CAPABILITY (PyTorch's own vectorised kernels)
    mkl: str | None  # MKL_ENABLE_INSTRUCTIONS (None: no MKL level of that name)


ISA_CAPS: dict[str, IsaCap] = {
    cap.name: cap
    for cap in (
        IsaCap("sse41", ("sse4_2",), "SSE41", "default", "SSE4_2"),
        IsaCap("avx2", ("avx2", "fma"), "AVX2", "avx2", "AVX2"),
        IsaCap("avx2_vnni", ("avx2", "avx_vnni"), "AVX2_VNNI", "avx2", "AVX2"),
        IsaCap("avx512", ("avx512f", "avx512bw", "avx512vl"), "AVX512_CORE", "avx512", "AVX512"),
        IsaCap("avx512_vnni", ("avx512f", "avx512_vnni"), "AVX512_CORE_VNNI", "avx512", "AVX512"),
        IsaCap("avx512_bf16", ("avx512f", "avx512_bf16"), "AVX512_CORE_BF16", "avx512", "AVX512"),
        IsaCap("amx", ("avx512f", "amx_tile"), "AVX512_CORE_AMX", "avx512", "AVX512_E4"),
    )
}


def get_cap(name: str) -> IsaCap:
    try:
        return ISA_CAPS[name]
    except KeyError:
        raise BadInput(f"unknown ISA cap {name!r}; choose one of {', '.join(ISA_CAPS)}") from None


def cap_env(name: str | None) -> dict[str, str]:
    """Environment variables that impose the cap (empty without a cap)."""
    if name is None:
        return {}
    cap = get_cap(name)
    env = {"ONEDNN_MAX_CPU_ISA": cap.onednn, "DNNL_MAX_CPU_ISA": cap.onednn}
    # OpenVINO's CPU plugin caps its own kernels (Reduce, ...) with OV_CPU_MAX_ISA, spelled as
    # oneDNN's; both must agree (some releases refuse to run when they differ).
    env["OV_CPU_MAX_ISA"] = cap.onednn
    env["ATEN_CPU_CAPABILITY"] = cap.aten
    if cap.mkl:
        env["MKL_ENABLE_INSTRUCTIONS"] = cap.mkl
    return env


def missing_flags(name: str, machine_flags: list[str] | tuple[str, ...]) -> list[str]:
    """Flags the cap needs that this machine does not have (a cap above the machine's level
    cannot produce the kernels it names, so engines refuse it rather than run something else)."""
    return [f for f in get_cap(name).needs_flags if f not in machine_flags]


# Instruction sets as they appear in oneDNN kernel and implementation names (OpenVINO's
# runtime graph, PyTorch's oneDNN verbose lines), most specific first, ranked.
_KERNEL_ISAS: tuple[tuple[str, str, int], ...] = (
    (r"amx", "amx", 8),
    (r"avx512_core_bf16", "avx512_bf16", 7),
    (r"avx512_core_vnni", "avx512_vnni", 6),
    (r"avx512", "avx512", 5),
    (r"avx2_vnni", "avx2_vnni", 4),
    (r"avx2", "avx2", 3),
    (r"(?:^|_)avx(?:_|$)", "avx", 2),
    (r"sse4", "sse41", 1),
)
_CAP_RANKS = {
    "sse41": 1,
    "avx2": 3,
    "avx2_vnni": 4,
    "avx512": 5,
    "avx512_vnni": 6,
    "avx512_bf16": 7,
    "amx": 8,
}


def kernel_isa(kernel: str) -> tuple[str, int] | None:
    """The instruction set a kernel name states (``brgconv_avx2_1x1_f32`` -> avx2), if any."""
    name = kernel.lower()
    for pattern, label, rank in _KERNEL_ISAS:
        if re.search(pattern, name):
            return label, rank
    return None


def cap_rank(isa: str) -> int:
    """The rank of an ISA cap on the scale of :func:`kernel_isa` (a kernel runs at or below
    the cap when its rank is at most this)."""
    return _CAP_RANKS[get_cap(isa).name]


def highest_isa(kernels: Iterable[str]) -> str | None:
    """The highest instruction set any of ``kernels`` names (None where none names one)."""
    ranked = [s for s in (kernel_isa(k) for k in kernels) if s is not None]
    return max(ranked, key=lambda s: s[1])[0] if ranked else None
