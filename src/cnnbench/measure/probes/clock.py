"""CPU clock telemetry over the timed window: min/median/max of the cores' current clocks.

Sampled every :data:`SAMPLE_S` from ``cpufreq/scaling_cur_freq`` (the kernel's view, kHz) where
the machine has cpufreq, else from ``cpu MHz`` in ``/proc/cpuinfo`` (on a virtual machine often
the nominal clock, constant whatever the host does: the reading says which source it used).
:func:`clock_warnings` flags a clock that moved within a window or between rounds.
"""

from __future__ import annotations

import os
import statistics
import threading
from collections.abc import Sequence
from pathlib import Path

from cnnbench.measure.probes.base import Probe, ProbeReading

SAMPLE_S = 0.1
CPU_ROOT = Path("/sys/devices/system/cpu")
CHANGE_WARN = 0.05  # a clock that moves by more than 5 % is flagged


def read_clocks_mhz(root: Path = Path("/")) -> tuple[list[float], str]:
    """The current clock of each core this process may run on, and where it came from."""
    cpus = sorted(os.sched_getaffinity(0))
    sysfs = root / CPU_ROOT.relative_to("/")
    found = []
    for cpu in cpus:
        f = sysfs / f"cpu{cpu}" / "cpufreq" / "scaling_cur_freq"
        try:
            found.append(int(f.read_text()) / 1e3)
        except (OSError, ValueError):
            break
    else:
        if found:
            return found, "scaling_cur_freq"
    text = (root / "proc/cpuinfo").read_text(errors="replace")
    mhz = [float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    chosen = [mhz[c] for c in cpus if c < len(mhz)] or mhz
    return chosen, "/proc/cpuinfo cpu MHz"


class ClockProbe(Probe):
    name = "clock"
    kind = "other"

    def __init__(self, root: Path = Path("/"), sample_s: float = SAMPLE_S) -> None:
        self.root, self.sample_s = root, sample_s
        self._samples: list[float] = []
        self._source = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        clocks, self._source = read_clocks_mhz(self.root)
        self._samples += clocks

    def start(self) -> None:
        self._samples = []
        self._stop.clear()
        self._sample()

        def loop() -> None:
            while not self._stop.wait(self.sample_s):
                self._sample()

        self._thread = threading.Thread(target=loop, name="clock-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> ProbeReading:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        s = self._samples
        values = {
            "clock_min_mhz": min(s),
            "clock_median_mhz": statistics.median(s),
            "clock_max_mhz": max(s),
            "samples": len(s),
        }
        note = None
        if self._source.startswith("/proc") and min(s) == max(s):
            note = "constant clock from /proc/cpuinfo (no cpufreq): the real clock is not visible"
        return ProbeReading(self.name, self.kind, self._source, values, note)


def clock_warnings(readings: Sequence[ProbeReading]) -> list[str]:
    """A clock that moved within a window, or between the rounds' windows."""
    clocks = [r for r in readings if r.probe == "clock" and r.source != "none"]
    out = []
    for i, r in enumerate(clocks):
        lo, hi = r.values.get("clock_min_mhz"), r.values.get("clock_max_mhz")
        if not (isinstance(lo, int | float) and isinstance(hi, int | float) and lo > 0):
            continue
        if hi / lo - 1 > CHANGE_WARN:
            where = f" (round {i + 1})" if len(clocks) > 1 else ""
            out.append(f"clock: moved between {lo:.0f} and {hi:.0f} MHz in the window{where}")
    medians = [r.values.get("clock_median_mhz") for r in clocks]
    nums = [float(m) for m in medians if isinstance(m, int | float)]
    if len(nums) > 1 and min(nums) > 0 and max(nums) / min(nums) - 1 > CHANGE_WARN:
        out.append(f"clock: round medians differ ({min(nums):.0f} to {max(nums):.0f} MHz)")
    return out
