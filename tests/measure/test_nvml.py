"""NVML energy with a fake pynvml module (no GPU here), and the real path where a GPU exists."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest

from cnnbench.measure.probes.energy import AutoEnergyProbe, MeterUnavailable
from cnnbench.measure.probes.nvml import NvmlMeter, physical_device


class FakeNVMLError(Exception):
    pass


def fake_pynvml(energy_counter: bool) -> types.ModuleType:
    """The part of pynvml the meter uses: two GPUs, an energy counter (mJ) or power (mW)."""
    m = types.ModuleType("pynvml")
    state = {"mj": {0: 1_000_000, 1: 5_000_000}, "mw": 150_000, "init": 0}
    m.NVMLError = FakeNVMLError  # type: ignore[attr-defined]
    m.NVML_CLOCK_SM = 1  # type: ignore[attr-defined]
    m.nvmlClocksThrottleReasonSwPowerCap = 4  # type: ignore[attr-defined]
    m.nvmlClocksThrottleReasonHwThermalSlowdown = 64  # type: ignore[attr-defined]

    def init() -> None:
        state["init"] += 1

    def by_index(i: int) -> int:
        if i not in (0, 1):
            raise FakeNVMLError("Invalid Argument")
        return i

    def by_uuid(uuid: str) -> int:
        return {"GPU-aaaa": 0, "GPU-bbbb": 1}[uuid]

    def total_energy(h: int) -> int:
        if not energy_counter:
            raise FakeNVMLError("Not Supported")
        return state["mj"][h]  # type: ignore[index]

    m.nvmlInit = init  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByIndex = by_index  # type: ignore[attr-defined]
    m.nvmlDeviceGetHandleByUUID = by_uuid  # type: ignore[attr-defined]
    m.nvmlDeviceGetTotalEnergyConsumption = total_energy  # type: ignore[attr-defined]
    m.nvmlDeviceGetPowerUsage = lambda h: state["mw"]  # type: ignore[attr-defined]
    m.nvmlDeviceGetClockInfo = lambda h, kind: 1755 if h == 1 else 1980  # type: ignore[attr-defined]
    m.nvmlDeviceGetCurrentClocksThrottleReasons = lambda h: 4  # type: ignore[attr-defined]
    m.state = state  # type: ignore[attr-defined]
    return m


@pytest.fixture
def nvml_counter(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    fake = fake_pynvml(energy_counter=True)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    yield fake


@pytest.fixture
def nvml_power(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    fake = fake_pynvml(energy_counter=False)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    yield fake


def test_cuda_visible_devices_maps_to_the_physical_gpu() -> None:
    assert physical_device("cuda:0", None) == 0
    assert physical_device("cuda:1", "") == 1
    assert physical_device("cuda:0", "1,0") == 1
    assert physical_device("cuda:1", "GPU-aaaa,GPU-bbbb") == "GPU-bbbb"
    with pytest.raises(MeterUnavailable, match="not visible"):
        physical_device("cuda:2", "0,1")


def test_energy_counter_of_the_visible_gpu(
    nvml_counter: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    meter = NvmlMeter("cuda:0")
    assert meter.gpu == 1 and meter.has_counter and meter.update_period_s == 0.1
    meter.begin()
    nvml_counter.state["mj"][1] += 2500  # type: ignore[attr-defined]
    nvml_counter.state["mj"][0] += 99_999  # another GPU: not ours
    joules, values = meter.end()
    assert joules == pytest.approx(2.5) and meter.stuck() is None
    assert values["method"] == "total-energy counter"
    assert values["sm_clock_median_mhz"] == 1755
    assert values["throttle_reasons"] == "software power cap"


def test_sampled_power_is_integrated_when_there_is_no_counter(
    nvml_power: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    meter = NvmlMeter("cuda:0")
    assert not meter.has_counter and meter.sample_s == pytest.approx(0.1)
    assert meter.update_period_s == 1.0  # a 1 s power average: windows of at least 10 s
    times = iter([0.0, 0.1, 0.2, 0.3])
    monkeypatch.setattr("cnnbench.measure.probes.nvml.time.perf_counter", lambda: next(times))
    meter.begin()  # 150 W at t=0
    nvml_power.state["mw"] = 250_000  # type: ignore[attr-defined]
    meter.sample()  # 250 W at 0.1
    meter.sample()  # 250 W at 0.2
    joules, values = meter.end()  # 250 W at 0.3
    assert joules == pytest.approx(0.1 * 200 + 0.1 * 250 + 0.1 * 250)
    assert values["power_samples"] == 4 and "10 Hz" in str(values["method"])


def test_a_counter_that_did_not_advance_is_none(nvml_counter: types.ModuleType) -> None:
    probe = AutoEnergyProbe()
    probe.bind("cuda:0")
    probe.start()
    reading = probe.stop()
    assert reading.source == "none" and "did not advance" in (reading.reason or "")


def test_without_pynvml_the_reason_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails
    probe = AutoEnergyProbe()
    probe.bind("cuda:0")
    probe.start()
    reading = probe.stop()
    assert reading.source == "none" and "cnnbench[nvml]" in (reading.reason or "")


def test_real_nvml_where_a_gpu_exists() -> None:
    pytest.importorskip("pynvml")
    try:
        meter = NvmlMeter("cuda:0")
    except MeterUnavailable as exc:
        pytest.skip(f"no NVIDIA GPU here: {exc}")
    meter.begin()
    import time

    time.sleep(1.2)
    joules, values = meter.end()
    assert joules > 0 and values["method"]
