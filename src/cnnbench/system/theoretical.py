"""The theoretical compute peak from the ISA: cores x FMA units x lanes x FLOP per lane x clock.

Every input is named in the figure's ``method``: the core count and flags from
``/proc/cpuinfo``, the clock and where it came from, and the FMA-unit count from a table keyed
by vendor, family and model. A CPU not in the table gets no figure ("unknown"), never a guess.

FLOP (or integer ops) per cycle per core, with ``lanes`` = 32-bit lanes of the narrower of the
widest vector ISA the flags list and the units' native width:

- fp32: units x lanes x 2 (one fused multiply-add)
- bf16: AMX (``amx_bf16``) 1024; else ``avx512_bf16`` units x lanes x 4 (VDPBF16PS: two bf16
  products and two adds per fp32 lane), assuming it issues at the FMA rate
- int8: AMX (``amx_int8``) 2048; else ``avx512_vnni``/``avx_vnni`` units x lanes x 8
  (VPDPBUSD: four u8 x s8 products and four adds per int32 lane), at the FMA rate

The clock is the highest one the machine names: cpufreq's ``cpuinfo_max_freq`` where present,
else the base clock in the model name (``@ 2.10GHz``), else ``cpu MHz`` (the current clock; in
a VM guest the host's nominal one, not the boost clock). A core running above it (boost) can
beat this figure; the peaks entry says so when a measured peak does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnbench.system.fingerprint import parse_cpuinfo


@dataclass(frozen=True)
class Microarch:
    name: str
    fma_units: int  # vector FMA units per core
    fma_bits: int  # native width of one unit
    note: str = ""


_HSW = Microarch("Intel Haswell/Broadwell", 2, 256)
_SKL = Microarch("Intel Skylake client family", 2, 256)
_SKX = Microarch(
    "Intel Skylake-SP/Cascade Lake/Cooper Lake",
    2,
    512,
    "Xeon Bronze, Silver and most Gold 5xxx have 1 AVX-512 FMA unit: half this figure",
)
_ICX = Microarch("Intel Ice Lake-SP", 2, 512)
_ICL = Microarch(
    "Intel Ice Lake/Tiger Lake/Rocket Lake client",
    2,
    256,
    "512-bit FMAs issue once per cycle (ports 0+1 fused): the same FLOP per cycle",
)
_SPR = Microarch("Intel Sapphire/Emerald/Granite Rapids", 2, 512)
_ZEN1 = Microarch("AMD Zen/Zen+", 2, 128, "256-bit FMAs split into two 128-bit halves")
_ZEN2 = Microarch("AMD Zen 2", 2, 256)
_ZEN3 = Microarch("AMD Zen 3", 2, 256)
_ZEN4 = Microarch("AMD Zen 4", 2, 256, "AVX-512 on 256-bit units: a 512-bit FMA takes two")
_ZEN5 = Microarch("AMD Zen 5 (server/desktop, 512-bit data path)", 2, 512)
_ZEN5M = Microarch("AMD Zen 5 (mobile, 256-bit data path)", 2, 256)

# (vendor_id, cpu family) -> [(first model, last model, microarchitecture)]
TABLE: dict[tuple[str, int], tuple[tuple[int, int, Microarch], ...]] = {
    ("GenuineIntel", 6): (
        *((m, m, _HSW) for m in (60, 63, 69, 70, 61, 71, 79, 86)),
        *((m, m, _SKL) for m in (78, 94, 142, 158, 165, 166)),
        (85, 85, _SKX),
        *((m, m, _ICX) for m in (106, 108)),
        *((m, m, _ICL) for m in (125, 126, 140, 141, 167)),
        *((m, m, _SPR) for m in (143, 207, 173, 174)),
    ),
    ("AuthenticAMD", 0x17): (
        *((m, m, _ZEN1) for m in (0x01, 0x08, 0x11, 0x18, 0x20)),
        *((m, m, _ZEN2) for m in (0x31, 0x47, 0x60, 0x68, 0x71, 0x90, 0xA0)),
    ),
    ("AuthenticAMD", 0x19): (
        (0x00, 0x0F, _ZEN3),
        (0x20, 0x2F, _ZEN3),
        (0x40, 0x5F, _ZEN3),
        (0x10, 0x1F, _ZEN4),
        (0x60, 0x7F, _ZEN4),
        (0xA0, 0xAF, _ZEN4),
    ),
    ("AuthenticAMD", 0x1A): (
        (0x00, 0x1F, _ZEN5),
        (0x40, 0x4F, _ZEN5),
        (0x70, 0x77, _ZEN5),
        (0x20, 0x2F, _ZEN5M),
        (0x60, 0x6F, _ZEN5M),
    ),
}


@dataclass(frozen=True)
class CpuId:
    vendor: str
    family: int | None
    model: int | None
    model_name: str
    flags: frozenset[str]
    cpu_mhz: float | None
    cores: int
    cores_source: str


def parse_cpu_id(text: str) -> CpuId:
    """Vendor, family, model, flags, ``cpu MHz`` and physical cores from /proc/cpuinfo text."""
    first: dict[str, str] = {}
    for line in text.strip().split("\n\n")[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            first[key.strip()] = value.strip()
    summary = parse_cpuinfo(text)
    physical = summary["physical_cores"]
    cores, source = (
        (physical, "physical core" + ("s" if physical != 1 else ""))
        if physical
        else (summary["logical_cores"], "logical CPUs (no core ids in cpuinfo)")
    )

    def number(key: str) -> float | None:
        try:
            return float(first[key])
        except (KeyError, ValueError):
            return None

    family, model = number("cpu family"), number("model")
    return CpuId(
        vendor=first.get("vendor_id", "unknown"),
        family=None if family is None else int(family),
        model=None if model is None else int(model),
        model_name=first.get("model name", "unknown"),
        flags=frozenset(first.get("flags", "").split()),
        cpu_mhz=number("cpu MHz"),
        cores=cores,
        cores_source=source,
    )


def microarch(cpu: CpuId) -> Microarch | None:
    if cpu.family is None or cpu.model is None:
        return None
    for first, last, arch in TABLE.get((cpu.vendor, cpu.family), ()):
        if first <= cpu.model <= last:
            return arch
    return None


@dataclass(frozen=True)
class Clock:
    mhz: float
    source: str


def read_clock(cpu: CpuId, root: Path = Path("/")) -> Clock | None:
    """The clock the figure uses, and where it came from (see the module docstring)."""
    path = root / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"
    try:
        khz = float(path.read_text().strip())
        if khz > 0:
            return Clock(khz / 1000, "cpufreq cpuinfo_max_freq")
    except (OSError, ValueError):
        pass
    named = re.search(r"@\s*([0-9.]+)\s*GHz", cpu.model_name)
    if named:
        return Clock(float(named.group(1)) * 1000, "base clock in the model name")
    if cpu.cpu_mhz:
        return Clock(
            cpu.cpu_mhz, "/proc/cpuinfo 'cpu MHz': the current clock, in a VM the host's nominal"
        )
    return None


@dataclass(frozen=True)
class TheoreticalPeak:
    precision: str
    value: float  # GFLOP/s (GOP/s for int8)
    unit: str
    cores: int
    per_cycle_per_core: float
    method: str  # "estimated: ..." with every input

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "theoretical",
            "precision": self.precision,
            "value": self.value,
            "unit": self.unit,
            "threads": self.cores,
            "method": self.method,
        }


def _vector_bits(flags: frozenset[str]) -> int:
    if "avx512f" in flags:
        return 512
    if "avx2" in flags or "avx" in flags:
        return 256
    return 128


def _per_cycle(precision: str, arch: Microarch, flags: frozenset[str]) -> tuple[float, str] | None:
    """Ops per cycle per core and how they were counted, or None without native instructions."""
    bits = min(arch.fma_bits, _vector_bits(flags))
    units = f"{arch.fma_units} FMA units x {bits // 32} 32-bit lanes ({bits}-bit)"
    lanes = arch.fma_units * bits // 32
    if precision == "fp32":
        if "fma" not in flags:
            return None
        return lanes * 2.0, f"{units} x 2 FLOP (FMA)"
    if precision == "bf16":
        if "amx_bf16" in flags:
            return 1024.0, "AMX TMUL 1024 bf16 FLOP per cycle"
        if "avx512_bf16" in flags:
            return lanes * 4.0, f"{units} x 4 FLOP (VDPBF16PS, at the FMA rate)"
        return None
    if precision == "int8":
        if "amx_int8" in flags:
            return 2048.0, "AMX TMUL 2048 int8 ops per cycle"
        if "avx512_vnni" in flags or "avx_vnni" in flags:
            if "avx512_vnni" not in flags:
                bits = min(bits, 256)
                lanes = arch.fma_units * bits // 32
                units = f"{arch.fma_units} FMA units x {bits // 32} 32-bit lanes ({bits}-bit)"
            return lanes * 8.0, f"{units} x 8 ops (VPDPBUSD, at the FMA rate)"
        return None
    raise ValueError(f"no theoretical rule for precision {precision!r}")


PRECISIONS = ("fp32", "bf16", "int8")


def theoretical_peaks(cpu: CpuId, clock: Clock | None) -> tuple[list[TheoreticalPeak], list[str]]:
    """Estimated peaks per precision with native instructions, and notes on what is unknown."""
    where = f"{cpu.vendor} family {cpu.family} model {cpu.model}"
    arch = microarch(cpu)
    if arch is None:
        return [], [f"theoretical peak: unknown ({where} is not in the FMA-unit table)"]
    if clock is None:
        return [], ["theoretical peak: unknown (no clock in cpufreq, the model name or cpuinfo)"]
    out: list[TheoreticalPeak] = []
    notes: list[str] = []
    for precision in PRECISIONS:
        counted = _per_cycle(precision, arch, cpu.flags)
        if counted is None:
            notes.append(f"theoretical {precision} peak: no native {precision} instructions")
            continue
        per_cycle, how = counted
        value = cpu.cores * per_cycle * clock.mhz / 1000
        method = (
            f"estimated: {cpu.cores} {cpu.cores_source} x {how} "
            f"= {per_cycle:.0f}/cycle/core x {clock.mhz:.0f} MHz [{clock.source}]; "
            f"microarchitecture from the table: {arch.name}, {where}"
            + (f"; {arch.note}" if arch.note else "")
        )
        unit = "GOP/s" if precision == "int8" else "GFLOP/s"
        out.append(TheoreticalPeak(precision, value, unit, cpu.cores, per_cycle, method))
    return out, notes


def machine_theoretical(root: Path = Path("/")) -> tuple[list[TheoreticalPeak], list[str]]:
    """:func:`theoretical_peaks` of the machine whose root is ``root`` (a fixture in tests)."""
    try:
        text = (root / "proc/cpuinfo").read_text(errors="replace")
    except OSError as exc:
        return [], [f"theoretical peak: unknown (cannot read /proc/cpuinfo: {exc})"]
    cpu = parse_cpu_id(text)
    return theoretical_peaks(cpu, read_clock(cpu, root))
