"""NVIDIA GPU energy through NVML (``nvidia-ml-py``, the ``nvml`` extra; imported as pynvml).

The device is ``cuda:N`` as the process sees it: the N-th entry of ``CUDA_VISIBLE_DEVICES``
(an index or a ``GPU-...`` UUID) when that is set, else NVML index N. Energy comes from the GPU's
total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ, Volta and later) where it
has one; otherwise power is sampled at :data:`SAMPLE_HZ` and integrated. SM clock and throttle
reasons are sampled too (min/median/max, and the reasons seen).
"""

from __future__ import annotations

import os
import statistics
import time
from types import ModuleType
from typing import Any

from cnnbench.measure.probes.base import Value
from cnnbench.measure.probes.energy import Meter, MeterUnavailable, SampledEnergy

SAMPLE_HZ = 10.0
COUNTER_PERIOD_S = 0.1  # the energy counter's update period, about
POWER_PERIOD_S = 1.0  # recent GPUs report power averaged over about a second
FIX = "fix: install the driver and `pip install cnnbench[nvml]` (nvidia-ml-py)"


def _pynvml() -> ModuleType:
    try:
        import pynvml
    except ImportError:
        raise MeterUnavailable(f"nvidia-ml-py (pynvml) is not installed; {FIX}") from None
    return pynvml


def physical_device(device: str, visible: str | None) -> int | str:
    """The NVML index (or UUID) of ``cuda:N`` under ``CUDA_VISIBLE_DEVICES=visible``."""
    _, _, index = device.partition(":")
    n = int(index or 0)
    if visible is None or not visible.strip():
        return n
    entries = [e.strip() for e in visible.split(",") if e.strip()]
    if n >= len(entries):
        raise MeterUnavailable(
            f"{device} is not visible: CUDA_VISIBLE_DEVICES={visible!r} lists {len(entries)}"
        )
    entry = entries[n]
    return int(entry) if entry.isdigit() else entry


class NvmlMeter(Meter):
    source = "nvml"

    def __init__(self, device: str) -> None:
        self.nvml = _pynvml()
        try:
            self.nvml.nvmlInit()
            which = physical_device(device, os.environ.get("CUDA_VISIBLE_DEVICES"))
            if isinstance(which, int):
                self.handle = self.nvml.nvmlDeviceGetHandleByIndex(which)
            else:
                self.handle = self.nvml.nvmlDeviceGetHandleByUUID(which)
        except self.nvml.NVMLError as exc:
            raise MeterUnavailable(f"NVML: {exc}; {FIX}") from None
        self.gpu = which
        self.has_counter = self._counter_mj() is not None
        self.update_period_s = COUNTER_PERIOD_S if self.has_counter else POWER_PERIOD_S
        self.sample_s = 1 / SAMPLE_HZ
        self._start_mj = 0
        self._power = SampledEnergy()
        self._clocks: list[float] = []
        self._throttle = 0

    def _counter_mj(self) -> int | None:
        try:
            return int(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except self.nvml.NVMLError:
            return None

    def begin(self) -> None:
        self._power, self._clocks, self._throttle = SampledEnergy(), [], 0
        self._start_mj = self._counter_mj() or 0
        self.sample()

    def sample(self) -> None:
        nvml: Any = self.nvml
        if not self.has_counter:
            self._power.add(time.perf_counter(), nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3)
        try:
            self._clocks.append(nvml.nvmlDeviceGetClockInfo(self.handle, nvml.NVML_CLOCK_SM))
            self._throttle |= int(nvml.nvmlDeviceGetCurrentClocksThrottleReasons(self.handle))
        except nvml.NVMLError:
            pass

    def end(self) -> tuple[float, dict[str, Value]]:
        self.sample()
        values: dict[str, Value] = {"gpu": str(self.gpu)}
        if self.has_counter:
            joules = ((self._counter_mj() or 0) - self._start_mj) / 1e3
            values["method"] = "total-energy counter"
        else:
            joules = self._power.joules
            values["method"] = f"power sampled at {SAMPLE_HZ:g} Hz, integrated"
            values["power_samples"] = self._power.samples
        if self._clocks:
            values |= {
                "sm_clock_min_mhz": min(self._clocks),
                "sm_clock_median_mhz": statistics.median(self._clocks),
                "sm_clock_max_mhz": max(self._clocks),
            }
        values["throttle_reasons"] = throttle_names(self.nvml, self._throttle)
        self._joules = joules
        return joules, values

    def stuck(self) -> str | None:
        if getattr(self, "_joules", 1.0) <= 0:
            return "the NVML energy reading did not advance during the window"
        return None


THROTTLE = {
    "nvmlClocksThrottleReasonGpuIdle": "idle",
    "nvmlClocksThrottleReasonApplicationsClocksSetting": "application clocks",
    "nvmlClocksThrottleReasonSwPowerCap": "software power cap",
    "nvmlClocksThrottleReasonHwSlowdown": "hardware slowdown",
    "nvmlClocksThrottleReasonSwThermalSlowdown": "software thermal slowdown",
    "nvmlClocksThrottleReasonHwThermalSlowdown": "hardware thermal slowdown",
    "nvmlClocksThrottleReasonHwPowerBrakeSlowdown": "power brake",
}


def throttle_names(nvml: ModuleType, mask: int) -> str:
    names = [label for attr, label in THROTTLE.items() if mask & int(getattr(nvml, attr, 0))]
    return ", ".join(names) or "none"
