"""What this machine can measure beyond time: energy (RAPL, NVML) and hardware counters.

Each check says plainly why a probe is unavailable, so that a figure that cannot be had here is
reported as absent with that reason, never as zero.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProbeStatus:
    name: str
    available: bool
    detail: str


def rapl_status(root: Path = Path("/")) -> ProbeStatus:
    base = root / "sys/class/powercap"
    if not base.is_dir():
        return ProbeStatus("energy: rapl", False, "no powercap interface (/sys/class/powercap)")
    zones = sorted(p for p in base.glob("intel-rapl:*") if (p / "energy_uj").exists())
    if not zones:
        return ProbeStatus("energy: rapl", False, "powercap has no RAPL zones")
    readable = [z.name for z in zones if os.access(z / "energy_uj", os.R_OK)]
    if not readable:
        return ProbeStatus(
            "energy: rapl", False, "RAPL energy_uj is not readable (root only since Linux 5.10)"
        )
    return ProbeStatus("energy: rapl", True, f"zones {', '.join(readable)}")


def nvml_status() -> ProbeStatus:
    if shutil.which("nvidia-smi") is None:
        return ProbeStatus("energy: nvml", False, "no NVIDIA driver (nvidia-smi not found)")
    return ProbeStatus("energy: nvml", True, "nvidia-smi present")


def perf_status(root: Path = Path("/")) -> ProbeStatus:
    pmu = root / "sys/bus/event_source/devices/cpu"
    if not pmu.exists():
        pmus = sorted(p.name for p in (root / "sys/bus/event_source/devices").glob("*"))
        return ProbeStatus(
            "counters: perf",
            False,
            "no hardware PMU exposed (a virtual machine without PMU passthrough); "
            f"event sources: {', '.join(pmus) or 'none'}",
        )
    paranoid = (root / "proc/sys/kernel/perf_event_paranoid").read_text().strip()
    return ProbeStatus("counters: perf", True, f"cpu PMU present, perf_event_paranoid={paranoid}")


def cachegrind_status() -> ProbeStatus:
    if shutil.which("valgrind") is None:
        return ProbeStatus("counters: cachegrind", False, "valgrind not installed")
    return ProbeStatus("counters: cachegrind", True, "simulated caches (deterministic, slow)")


def load_status(root: Path = Path("/")) -> ProbeStatus:
    """The load reading every timed window takes (``measure/probes/load.py``)."""
    if not (root / "proc/stat").exists():
        return ProbeStatus("load", False, "no /proc/stat: other work in the window is not read")
    psi = (root / "proc/pressure/cpu").exists()
    detail = "/proc/stat" + (" and /proc/pressure/cpu" if psi else " (no PSI: no CPU pressure)")
    return ProbeStatus("load", True, f"{detail}, every timed window")


def all_probes() -> list[ProbeStatus]:
    return [rapl_status(), nvml_status(), perf_status(), cachegrind_status(), load_status()]
