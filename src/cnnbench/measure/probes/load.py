"""Other work on the machine over the timed window: what a timing shares its CPUs with.

Every worker takes this reading around its timed window (it is not asked for in a spec, so
adding it changed no run's identity). From ``/proc/stat`` (the machine's busy time, including
steal: time the hypervisor gave to other guests) less ``/proc/self/stat`` (this process's own,
all its threads), over the window's wall time, ``others_cpus`` is how many CPUs other work kept
busy on average: other processes, kernel threads (a memory-reclaim daemon scanning pages),
the parent. ``steal_cpus`` is the hypervisor's share of it; ``cpu_pressure`` is the share of
the window in which some runnable task waited for a CPU (``/proc/pressure/cpu``, where the
kernel has PSI). ``minor_faults`` and ``major_faults`` are this process's page faults in the
window: a steady timing loop faults little, and a major fault means code or data the run needs
was paged out under it (memory reclaim, swap) and read back in, which :func:`load_warnings`
flags. Ticks are ``USER_HZ`` (100 per second) and each of the two differences may be a tick
off at either end, so ``resolution_cpus`` (2 ticks over the window) is the reading's
uncertainty: 0.02 CPU over a second, more than a CPU over a 10 ms window, which therefore tells
nothing. :func:`contended` (and :func:`load_warnings`) call a window contended only when other
work exceeds :data:`CONTENDED_CPUS` by more than that; on a machine others share, a timing
under load is inflated by a factor no later step can undo.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnbench.measure.probes.base import Probe, ProbeReading

CONTENDED_CPUS = 0.25  # other work above a quarter of a CPU on average is flagged
FAULTS_PER_CALL = 256  # minor faults per inference (1 MiB of 4 KiB pages) flagged
BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system irq softirq steal (guest is in user)
STEAL_FIELD = 7


@dataclass(frozen=True)
class CpuTimes:
    """One snapshot: wall clock (s), the machine's busy and steal ticks, this process's ticks,
    and PSI's cumulative CPU 'some' stall (us; None without PSI)."""

    wall_s: float
    busy_ticks: int
    steal_ticks: int
    own_ticks: int
    some_stall_us: int | None
    minor_faults: int = 0
    major_faults: int = 0


def parse_proc_stat(text: str) -> tuple[int, int]:
    """(busy ticks, steal ticks) of the aggregate ``cpu`` line of ``/proc/stat``."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            ticks = [int(x) for x in parts[1:]] + [0] * 8
            return sum(ticks[i] for i in BUSY_FIELDS), ticks[STEAL_FIELD]
    raise ValueError("no aggregate cpu line in /proc/stat")


def parse_self_stat(text: str) -> tuple[int, int, int]:
    """(utime + stime ticks, minor faults, major faults), every thread, of a ``/proc/PID/stat``
    line; the command name in parentheses may hold spaces and parentheses, so fields are
    counted after the last ')'."""
    fields = text[text.rindex(")") + 2 :].split()
    # fields 10, 12, 14 and 15 of proc(5): minflt, majflt, utime, stime
    return int(fields[11]) + int(fields[12]), int(fields[7]), int(fields[9])


def parse_pressure(text: str) -> int | None:
    """The cumulative ``some`` stall (us) of ``/proc/pressure/cpu``."""
    for line in text.splitlines():
        if line.startswith("some "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                if key == "total":
                    return int(value)
    return None


def snapshot(root: Path = Path("/"), clock: Callable[[], float] = time.monotonic) -> CpuTimes:
    busy, steal = parse_proc_stat((root / "proc/stat").read_text())
    own, minor, major = parse_self_stat((root / "proc/self/stat").read_text())
    try:
        some = parse_pressure((root / "proc/pressure/cpu").read_text())
    except OSError:  # no PSI (an older kernel, or one built without it)
        some = None
    return CpuTimes(clock(), busy, steal, own, some, minor, major)


def reading(
    before: CpuTimes, after: CpuTimes, hz: int, cpus: int, probe: str = "load"
) -> ProbeReading:
    """The window between two snapshots as a reading (see the module docstring)."""
    wall = after.wall_s - before.wall_s
    if wall <= 0:
        return ProbeReading.unavailable(probe, "other", "an empty window")
    others = max(0, (after.busy_ticks - before.busy_ticks) - (after.own_ticks - before.own_ticks))
    values: dict[str, float | int | None] = {
        "others_cpus": others / hz / wall,
        "steal_cpus": (after.steal_ticks - before.steal_ticks) / hz / wall,
        "resolution_cpus": 2 / hz / wall,
        "minor_faults": after.minor_faults - before.minor_faults,
        "major_faults": after.major_faults - before.major_faults,
        "cpus": cpus,
        "tick_s": 1 / hz,
    }
    source = "/proc/stat"
    if before.some_stall_us is not None and after.some_stall_us is not None:
        values["cpu_pressure"] = (after.some_stall_us - before.some_stall_us) / 1e6 / wall
        source += ", /proc/pressure/cpu"
    return ProbeReading(probe, "other", source, values, window_s=wall)


class LoadProbe(Probe):
    name = "load"
    kind = "other"

    def __init__(self, root: Path = Path("/")) -> None:
        self.root = root
        self._before: CpuTimes | None = None
        self._hz = os.sysconf("SC_CLK_TCK")
        self._cpus = os.cpu_count() or 1

    def start(self) -> None:
        self._before = snapshot(self.root)

    def stop(self) -> ProbeReading:
        if self._before is None:
            return ProbeReading.unavailable(self.name, self.kind, "stopped before it started")
        return reading(self._before, snapshot(self.root), self._hz, self._cpus, self.name)


def load_probe() -> list[Probe]:
    """The load probe where this machine has ``/proc/stat`` (Linux), else none."""
    try:
        snapshot()
    except (OSError, ValueError):
        return []
    return [LoadProbe()]


def contended(r: ProbeReading) -> bool:
    """Whether the load reading shows other work above :data:`CONTENDED_CPUS` by more than its
    resolution (a reading that is not a load reading, or has no figure, is not)."""
    others, tick_s = r.values.get("others_cpus"), r.values.get("tick_s")
    if r.probe != "load" or not isinstance(others, int | float):
        return False
    resolution = 0.0  # from the tick and the window (a reading may predate resolution_cpus)
    if isinstance(tick_s, int | float) and r.window_s:
        resolution = 2 * tick_s / r.window_s
    return others - resolution > CONTENDED_CPUS


def load_warnings(readings: Sequence[ProbeReading]) -> list[str]:
    """A timed window in which other work kept more than :data:`CONTENDED_CPUS` busy, in which
    each inference faulted more than :data:`FAULTS_PER_CALL` pages in (the record adds the
    window's ``inferences``), or with any major fault."""
    loads = [r for r in readings if r.probe == "load" and r.source != "none"]
    out = []
    for i, r in enumerate(loads):
        others = r.values.get("others_cpus")
        if isinstance(others, int | float) and contended(r):
            where = f" (round {i + 1})" if len(loads) > 1 else ""
            steal = r.values.get("steal_cpus")
            of_which = f", {steal:.2f} of it steal" if isinstance(steal, int | float) else ""
            out.append(
                f"load: other work kept {others:.2f} CPU busy in the timed window{where}"
                f"{of_which}; the timing may be inflated"
            )
        minor, calls = r.values.get("minor_faults"), r.values.get("inferences")
        if isinstance(minor, int) and isinstance(calls, int) and calls > 0:
            per_call = minor / calls
        else:
            per_call = 0.0  # without the window's calls, no rate
        if per_call > FAULTS_PER_CALL:
            where = f" (round {i + 1})" if len(loads) > 1 else ""
            out.append(
                f"load: {per_call:,.0f} minor page faults per inference in the timed window"
                f"{where}: memory is given back and faulted in again on every call, a cost "
                "that moves with the machine (--option malloc=keep keeps it)"
            )
        major = r.values.get("major_faults")
        if isinstance(major, int) and major > 0:
            where = f" (round {i + 1})" if len(loads) > 1 else ""
            out.append(
                f"load: {major} major page fault(s) in the timed window{where}: memory the run "
                "uses was paged out under it and read back"
            )
    return out
