"""Attainable peaks of this machine, for the roofline: GEMM GFLOP/s per precision, copy GB/s.

The compute peak of a precision is the fastest of every installed library's matrix product
(:mod:`cnnbench.system.gemm`: torch.mm, NumPy's BLAS, ONNX Runtime's and OpenVINO's MatMul) at
several sizes, each at its default thread count: engines reach what their own kernels reach, and
a BLAS that takes a slower path on this CPU (MKL's AVX2 path on AMD, an OpenBLAS built for
Haswell) must not set the ceiling. Its ``method`` names the winner (library, size, threads,
kernel where known); the notes list every candidate. A figure is the best of several timed
repetitions: the roofline's ceiling is what the machine *can* reach, not its typical speed.

Next to the measured peaks: the ``theoretical`` peak per precision from the ISA
(:mod:`cnnbench.system.theoretical`), labelled ``estimated`` with its inputs, and the bandwidth
of a large copy. The parent (``execute/peaks.py``) runs each part in its own worker, so no
library's thread pool competes with another's; :func:`measure_peaks` with no ``parts`` runs
them all in one process (tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cnnbench.system import gemm
from cnnbench.system.gemm import Absent, Candidate, best_seconds

SIZES = (1024, 2048, 3072)
COPY_BYTES = 512 * 2**20  # 512 MiB source, well beyond any last-level cache
COPY_REPEATS = 7
PRECISIONS = ("fp32", "bf16", "int8")
# bf16 and int8 products are measured only where the CPU has native instructions for them
NATIVE = {"bf16": ("avx512_bf16", "amx_bf16"), "int8": ("avx512_vnni", "avx_vnni", "amx_int8")}
PARTS = (*gemm.LIBRARIES, "memory", "theoretical")
SLOW_SHARE = 0.6  # a candidate below 60 % of the best of its precision earns a note,
SLOW_MIN_SIZE = 1024  # when both products were large enough for call overheads not to matter


@dataclass(frozen=True)
class Peak:
    kind: str  # "compute" | "memory" | "theoretical"
    precision: str  # "fp32" | "bf16" | "int8" | "-" for memory
    value: float  # GFLOP/s (GOP/s for int8) or GB/s
    unit: str
    threads: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def native_precisions(flags: Iterable[str]) -> tuple[str, ...]:
    """fp32, plus bf16 and int8 where the flags name instructions for them."""
    have = set(flags)
    return tuple(p for p in PRECISIONS if p == "fp32" or any(f in have for f in NATIVE.get(p, ())))


def choose_peaks(candidates: Sequence[Candidate]) -> list[Peak]:
    """The fastest candidate of each precision, as a ``compute`` peak named after it."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        if c.precision not in best or c.gflops > best[c.precision].gflops:
            best[c.precision] = c
    unit = {"int8": "GOP/s"}
    return [
        Peak("compute", p, c.gflops, unit.get(p, "GFLOP/s"), c.threads, c.describe())
        for p, c in sorted(best.items(), key=lambda kv: PRECISIONS.index(kv[0]))
    ]


def candidate_notes(candidates: Sequence[Candidate]) -> list[str]:
    """One line per precision listing every library's best size, fastest first, and a note for
    a library far below the best (a slower code path on this CPU)."""
    notes = []
    for precision in PRECISIONS:
        own: dict[str, Candidate] = {}
        for c in candidates:
            if c.precision == precision and (
                c.library not in own or c.gflops > own[c.library].gflops
            ):
                own[c.library] = c
        if not own:
            continue
        ranked = sorted(own.values(), key=lambda c: -c.gflops)
        listed = ", ".join(f"{c.library} {c.size} {c.gflops:.0f}" for c in ranked)
        notes.append(f"{precision} candidates (best size, G/s): {listed}")
        top = ranked[0]
        notes += [
            f"{c.library} {precision} reaches {c.gflops / top.gflops:.0%} of {top.library}: "
            "a slower kernel on this CPU, not the machine's ceiling"
            for c in ranked[1:]
            if c.gflops < SLOW_SHARE * top.gflops and min(c.size, top.size) >= SLOW_MIN_SIZE
        ]
    return notes


def clock_notes(measured: Sequence[Peak], theoretical: Sequence[Peak]) -> list[str]:
    """Where a measured peak beats the estimate, the clock it implies (a boost above the clock
    the estimate used, or a wrong table entry)."""
    notes = []
    estimate = {p.precision: p for p in theoretical}
    for p in measured:
        t = estimate.get(p.precision)
        if t is None or p.value <= t.value:
            continue
        cores = min(p.threads, t.threads)
        per_cycle = re.search(r"= ([0-9.]+)/cycle/core", t.method)
        implied = (
            f">= {p.value / cores / float(per_cycle.group(1)):.2f} GHz"
            if per_cycle
            else f">= {p.value / cores / (t.value / t.threads):.2f}x the clock used"
        )
        notes.append(
            f"measured {p.precision} peak {p.value:.0f} {p.unit} exceeds the theoretical "
            f"{t.value:.0f} ({t.unit}): on {cores} cores that needs a clock {implied} (boost "
            "above the clock the estimate used), or the FMA-unit table is wrong for this CPU"
        )
    return notes


BUSY_SHARE = 0.1  # other work above 10 % of the CPUs during a measurement earns a note


def cpu_busy_seconds(stat_text: str, ticks_per_s: float) -> float:
    """CPU time spent busy on all CPUs since boot, from /proc/stat's ``cpu`` line: user, nice,
    system, irq, softirq, and steal (time the hypervisor gave to other guests)."""
    for line in stat_text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(v) for v in fields[1:9]] + [0] * 8
            user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
            return (user + nice + system + irq + softirq + steal) / ticks_per_s
    raise ValueError("no 'cpu' line in /proc/stat")


def load_note(busy_s: float, own_s: float, wall_s: float, cpus: int) -> str | None:
    """A note when other processes (or other guests) took more than 10 % of the CPUs while the
    peaks were measured: the figures are then lower than the machine's ceiling."""
    if wall_s <= 0 or cpus < 1:
        return None
    share = max(0.0, busy_s - own_s) / (wall_s * cpus)
    if share <= BUSY_SHARE:
        return None
    return (
        f"other work took {share:.0%} of the {cpus} CPUs while the peaks were measured: "
        "the figures may be low; measure again on a quiet machine (`cnnbench info --peaks`)"
    )


def memory_peak(copy_bytes: int) -> Peak:
    """Bandwidth of a large copy (bytes read + bytes written): torch's threaded copy where
    installed, else NumPy's."""
    size = copy_bytes // 4
    try:
        import torch

        src = torch.ones(size, dtype=torch.float32)
        dst = torch.empty_like(src)
        threads, how = torch.get_num_threads(), "torch copy_"
        seconds = best_seconds(lambda: dst.copy_(src), COPY_REPEATS)
    except ImportError:
        import numpy as np

        a, b = np.ones(size, dtype=np.float32), np.empty(size, dtype=np.float32)
        threads, how = 1, "numpy.copyto"
        seconds = best_seconds(lambda: np.copyto(b, a), COPY_REPEATS)
    gbs = 2 * size * 4 / seconds / 1e9
    return Peak("memory", "-", gbs, "GB/s", threads, f"{how} of {size * 4 >> 20} MiB")


def _physical_cores() -> int:
    import os
    from pathlib import Path

    from cnnbench.system.fingerprint import parse_cpuinfo

    try:
        cores = parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))["physical_cores"]
    except OSError:
        cores = None
    return int(cores or os.cpu_count() or 1)


def _cpu_flags() -> frozenset[str]:
    from pathlib import Path

    from cnnbench.system.theoretical import parse_cpu_id

    try:
        return parse_cpu_id(Path("/proc/cpuinfo").read_text(errors="replace")).flags
    except OSError:
        return frozenset()


def measure_candidates(
    library: str, sizes: Sequence[int], precisions: Sequence[str]
) -> gemm.Outcome:
    if library == "torch":
        return gemm.torch_mm(sizes, precisions)
    if library == "numpy":
        return gemm.numpy_matmul(sizes, precisions)
    if library == "onnxruntime":
        return gemm.onnxruntime_matmul(sizes, precisions, _physical_cores())
    if library == "openvino":
        return gemm.openvino_matmul(sizes, precisions)
    raise ValueError(f"unknown GEMM library {library!r}; known: {', '.join(gemm.LIBRARIES)}")


def measure_peaks(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry. Payload (all optional): ``parts`` (libraries of :data:`gemm.LIBRARIES`,
    ``memory``, ``theoretical``; default all), ``sizes``, ``precisions`` (default: those with
    native instructions here), ``copy_bytes``.

    Returns ``candidates`` (every timed product), ``peaks`` (the best candidate per precision,
    the copy bandwidth, the theoretical peaks) and ``notes``.
    """
    from cnnbench.system.theoretical import machine_theoretical

    parts = tuple(payload.get("parts") or PARTS)
    sizes = tuple(int(n) for n in payload.get("sizes") or SIZES)
    flags = _cpu_flags()
    precisions = tuple(payload.get("precisions") or native_precisions(flags))
    notes: list[str] = []
    skipped = [p for p in PRECISIONS if p not in precisions]
    if skipped and "precisions" not in payload and any(lib in parts for lib in gemm.LIBRARIES):
        notes.append(
            f"no {'/'.join(skipped)} products measured: no native instructions for them "
            "on this CPU (avx512_bf16/AMX for bf16, VNNI/AMX for int8)"
        )
    candidates: list[Candidate] = []
    for library in (p for p in parts if p in gemm.LIBRARIES):
        try:
            outcome = measure_candidates(library, sizes, precisions)
        except Absent as exc:
            notes.append(f"{library}: not measured, {exc}")
            continue
        candidates += outcome.candidates
        notes += outcome.notes
    other: list[Peak] = []
    if "memory" in parts:
        other.append(memory_peak(int(payload.get("copy_bytes", COPY_BYTES))))
    if "theoretical" in parts:
        estimates, why = machine_theoretical()
        other += [Peak(**t.to_dict()) for t in estimates]
        notes += why
    peaks, summary = assemble(candidates, other, notes)
    return {
        "candidates": [c.to_json() for c in candidates],
        "peaks": [p.to_dict() for p in peaks],
        "measure_notes": notes,  # before assembly: the parent assembles the parts again
        "notes": summary,
    }


def assemble(
    candidates: Sequence[Candidate], other: Sequence[Peak], notes: Sequence[str]
) -> tuple[list[Peak], list[str]]:
    """Peaks and notes from parts measured apart: the best candidate per precision, the
    memory and theoretical peaks, the candidate list, and where a measure beats the estimate."""
    compute = choose_peaks(candidates)
    theoretical = [p for p in other if p.kind == "theoretical"]
    peaks = [*compute, *(p for p in other if p.kind != "compute")]
    return peaks, [*notes, *candidate_notes(candidates), *clock_notes(compute, theoretical)]
