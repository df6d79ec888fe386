"""Energy probes around the timed window: RAPL (powercap), NVML, or an estimate from a TDP.

A :class:`Meter` accumulates joules between :meth:`Meter.begin` and :meth:`Meter.end`, read by a
background thread every ``sample_s`` (often enough that a RAPL counter wraps at most once, or
at >= 10 Hz to integrate sampled GPU power). An :class:`EnergyProbe` wraps one meter:

- ``baseline(seconds)``: the idle power of the loaded, non-inferring worker, measured before
  the warm-up (``CNNBENCH_IDLE_S``, default :data:`IDLE_S`), recorded and later subtracted;
- ``start()``/``stop()``: energy over the timed window; ``min_window_s`` is the shortest window
  the meter can integrate (:data:`MIN_PERIODS` of its update periods): the timing loop repeats
  the workload inside the window until it lasts that long.

A meter that cannot be read, or whose counter did not advance, gives ``source: none`` with the
reason and the fix, never 0 J. ``estimated`` appears only when the user gave a TDP
(``--tdp-w``, ``CNNBENCH_TDP_W``), and says so.
"""

from __future__ import annotations

import os
import threading
import time
from abc import ABC, abstractmethod
from typing import ClassVar

from cnnbench.measure.probes import powercap
from cnnbench.measure.probes.base import Probe, ProbeReading, Value

IDLE_ENV = "CNNBENCH_IDLE_S"
TDP_ENV = "CNNBENCH_TDP_W"
IDLE_S = 2.0
MIN_PERIODS = 10  # a window spans at least this many meter update periods


class MeterUnavailable(Exception):
    """The meter cannot measure here; the message is the reason (and the fix)."""


class Meter(ABC):
    source: ClassVar[str]
    update_period_s: float = 0.001
    sample_s: float = 1.0

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def sample(self) -> None:
        """Called from the sampling thread every ``sample_s``."""

    @abstractmethod
    def end(self) -> tuple[float, dict[str, Value]]:
        """Joules since :meth:`begin` (the counted total) and per-domain values."""

    def stuck(self) -> str | None:
        """Why the last window's reading is not a measurement (a counter that did not move)."""
        return None


class RaplMeter(Meter):
    source = "rapl"
    update_period_s = 0.001  # RAPL updates about every millisecond

    def __init__(self) -> None:
        try:
            self.zones = powercap.discover()
        except powercap.PowercapError as exc:
            raise MeterUnavailable(str(exc)) from None
        except OSError as exc:
            raise MeterUnavailable(f"powercap: {exc}; {powercap.FIX_MISSING}") from None
        # 1 Hz, or faster where a counter could wrap twice in a second.
        self.sample_s = min(1.0, powercap.wrap_period_s(self.zones) / 2)
        self._acc = powercap.Accumulator(self.zones)

    def begin(self) -> None:
        self._acc.reset()

    def sample(self) -> None:
        self._acc.sample()

    def end(self) -> tuple[float, dict[str, Value]]:
        self._acc.sample()
        values: dict[str, Value] = dict(self._acc.by_zone_j())
        values["counted"] = ", ".join(f"{z.key} ({z.name})" for z in self.zones if z.counted)
        return self._acc.joules(), values

    def stuck(self) -> str | None:
        frozen = self._acc.stuck()
        if not frozen:
            return None
        names = ", ".join(f"{z.key} ({z.name})" for z in frozen)
        return (
            f"the RAPL counter of {names} did not advance during the window (a virtual machine "
            "or firmware that exposes a frozen counter); no energy can be measured here"
        )


class SampledEnergy:
    """Trapezoidal integral of power samples (watts) over time."""

    def __init__(self) -> None:
        self.joules = 0.0
        self.samples = 0
        self._last: tuple[float, float] | None = None

    def add(self, t_s: float, watts: float) -> None:
        if self._last is not None:
            t0, w0 = self._last
            self.joules += (t_s - t0) * (w0 + watts) / 2
        self._last = (t_s, watts)
        self.samples += 1


class EnergyProbe(Probe):
    """Energy over the timed window from one meter, with the idle baseline before it."""

    kind = "energy"
    name: ClassVar[str] = "energy"

    def __init__(self) -> None:
        self.meter: Meter | None = None
        self.unavailable: str | None = None
        self.idle_w: float | None = None
        self.idle_s: float | None = None
        self.idle_reason: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._t0 = 0.0

    def bind(self, device: str) -> None:
        try:
            self.meter = self.make_meter(device)
        except MeterUnavailable as exc:
            self.unavailable = str(exc)

    def make_meter(self, device: str) -> Meter:
        return RaplMeter()

    @property
    def min_window_s(self) -> float:
        return MIN_PERIODS * self.meter.update_period_s if self.meter else 0.0

    def baseline(self, seconds: float | None = None) -> None:
        """Idle power: the worker loaded, nothing inferring, for ``seconds``."""
        if self.meter is None:
            return
        if seconds is None:
            seconds = float(os.environ.get(IDLE_ENV, IDLE_S))
        if seconds <= 0:
            self.idle_reason = "no idle baseline was asked for (idle seconds 0)"
            return
        seconds = max(seconds, self.min_window_s)
        self._begin()
        time.sleep(seconds)
        joules, _, window = self._end()
        why = self.meter.stuck()
        if why:
            self.idle_reason = why
            return
        self.idle_w, self.idle_s = joules / window, window

    def _begin(self) -> None:
        assert self.meter is not None
        meter = self.meter
        meter.begin()
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(meter.sample_s):
                meter.sample()

        self._thread = threading.Thread(target=loop, name="energy-sampler", daemon=True)
        self._t0 = time.perf_counter()
        self._thread.start()

    def _end(self) -> tuple[float, dict[str, Value], float]:
        assert self.meter is not None and self._thread is not None
        self._stop.set()
        self._thread.join()
        window = time.perf_counter() - self._t0
        joules, values = self.meter.end()
        return joules, values, window

    def start(self) -> None:
        if self.meter is not None:
            self._begin()

    def stop(self) -> ProbeReading:
        if self.meter is None:
            return ProbeReading.unavailable(self.name, self.kind, self.unavailable or "unbound")
        joules, values, window = self._end()
        why = self.meter.stuck()
        if why:
            return ProbeReading.unavailable(self.name, self.kind, why)
        values = {"energy_j": joules, **values}
        if self.idle_w is not None:
            values |= {"idle_w": self.idle_w, "idle_s": self.idle_s}
        values["min_window_s"] = self.min_window_s
        return ProbeReading(
            self.name, self.kind, self.meter.source, values, self.idle_reason, window
        )


class RaplProbe(EnergyProbe):
    name = "rapl"


class NvmlProbe(EnergyProbe):
    name = "nvml"

    def make_meter(self, device: str) -> Meter:
        from cnnbench.measure.probes.nvml import NvmlMeter

        return NvmlMeter(device)


class TdpMeter(Meter):
    """Not a meter: TDP x time, labelled ``estimated`` (an upper bound for a CPU package)."""

    source = "estimated"
    update_period_s = 0.0

    def __init__(self, tdp_w: float, why_not_measured: str) -> None:
        self.tdp_w, self.why = tdp_w, why_not_measured
        self._t0 = 0.0

    def begin(self) -> None:
        self._t0 = time.perf_counter()

    def sample(self) -> None:
        pass

    def end(self) -> tuple[float, dict[str, Value]]:
        note = f"estimated: {self.tdp_w:g} W (--tdp-w) x window, not measured; {self.why}"
        return self.tdp_w * (time.perf_counter() - self._t0), {"tdp_w": self.tdp_w, "note": note}


class AutoEnergyProbe(EnergyProbe):
    """``--energy``: NVML on a CUDA device, RAPL on the CPU; a TDP estimate only if asked."""

    name = "energy"

    def make_meter(self, device: str) -> Meter:
        try:
            if device.startswith("cuda"):
                from cnnbench.measure.probes.nvml import NvmlMeter

                return NvmlMeter(device)
            return RaplMeter()
        except MeterUnavailable as exc:
            tdp = os.environ.get(TDP_ENV)
            if not tdp:
                raise
            return TdpMeter(float(tdp), f"measured meter unavailable: {exc}")

    def baseline(self, seconds: float | None = None) -> None:
        if isinstance(self.meter, TdpMeter):
            self.idle_reason = "an estimate from a TDP has no idle baseline"
            return
        super().baseline(seconds)
