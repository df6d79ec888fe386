"""RAPL through powercap on fixture trees, the energy probe, the idle and window rules."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from cnnbench.measure.probes import powercap
from cnnbench.measure.probes.energy import AutoEnergyProbe, RaplProbe, TdpMeter
from cnnbench.measure.timing import time_calls
from cnnbench.results.meters import Energy, ProbeReading
from cnnbench.spec import Budget

TREES = Path(__file__).resolve().parents[1] / "fixtures" / "powercap"


def tree(tmp_path: Path, name: str) -> Path:
    """A writable copy of a fixture tree (counters are advanced by rewriting energy_uj)."""
    dest = tmp_path / name
    shutil.copytree(TREES / name, dest)
    return dest


def bump(root: Path, zone: str, uj: int) -> None:
    f = root / zone / "energy_uj"
    f.write_text(str(int(f.read_text()) + uj))


def set_uj(root: Path, zone: str, uj: int) -> None:
    (root / zone / "energy_uj").write_text(f"{uj}\n")


def test_discovery_counts_packages_and_dram_never_core_or_uncore() -> None:
    server = {z.key: (z.name, z.counted) for z in powercap.discover(TREES / "server")}
    assert server == {
        "intel-rapl:0": ("package-0", True),
        "intel-rapl:0:0": ("dram", True),  # its own domain, filed under the package
        "intel-rapl:1": ("package-1", True),
        "intel-rapl:1:0": ("dram", True),
    }
    amd = {z.key: z.counted for z in powercap.discover(TREES / "amd")}
    assert amd == {"intel-rapl:0": True, "intel-rapl:0:0": False}  # core is inside the package
    zones = powercap.discover(TREES / "client")
    # psys covers the package: it alone is counted; the mmio duplicate is not a RAPL zone here.
    assert [(z.key, z.counted) for z in zones] == [
        ("intel-rapl:0", False),
        ("intel-rapl:0:0", False),
        ("intel-rapl:0:1", False),
        ("intel-rapl:1", True),
    ]
    assert zones[1].parent == "intel-rapl:0" and zones[0].parent is None


def test_accumulator_sums_counted_zones_and_handles_a_wrap(tmp_path: Path) -> None:
    root = tree(tmp_path, "server")
    acc = powercap.Accumulator(powercap.discover(root))
    acc.reset()
    bump(root, "intel-rapl:0", 3_000_000)
    bump(root, "intel-rapl:0:0", 1_000_000)
    # package-1 sits 328_850 uJ below its range: +1 J wraps it to 671_150.
    set_uj(root, "intel-rapl:1", 671_150)
    acc.sample()
    bump(root, "intel-rapl:1:0", 500_000)
    acc.sample()
    assert acc.joules() == pytest.approx(3 + 1 + 1 + 0.5)
    assert acc.by_zone_j()["intel-rapl:1:package-1_j"] == pytest.approx(1.0)
    assert acc.stuck() == []
    assert powercap.delta_uj(262_143_000_000, 671_150, 262_143_328_850) == 1_000_000


def test_wrap_period_bounds_the_sampling_interval() -> None:
    zones = powercap.discover(TREES / "server")
    # dram's 65.7 kJ range at 2 kW wraps in 32.9 s: one reading a second is plenty.
    assert powercap.wrap_period_s(zones) == pytest.approx(65712.999613 / 2000)


def test_missing_tree_and_no_zones_say_why_and_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(powercap.PowercapError, match=r"no powercap tree.*modprobe"):
        powercap.discover(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(powercap.PowercapError, match="no intel-rapl zones"):
        powercap.discover(tmp_path / "empty")


def test_unreadable_counter_is_permission_denied_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path, "amd")
    for f in root.glob("intel-rapl:*/energy_uj"):
        f.chmod(0o400 if os.geteuid() == 0 else 0o000)
    if os.geteuid() == 0:  # root reads anything: refuse the read as the kernel does for users
        real = Path.read_text

        def denied(self: Path, *args: object, **kw: object) -> str:
            if self.name == "energy_uj":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(powercap.PowercapError, match=r"permission denied.*CVE-2020-8694.*chmod"):
        powercap.discover(root)


def test_probe_over_a_window_with_idle_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path, "server")
    monkeypatch.setenv(powercap.ROOT_ENV, str(root))
    probe = RaplProbe()
    probe.bind("cpu")
    assert probe.meter is not None and probe.min_window_s == pytest.approx(0.01)
    probe.idle_w, probe.idle_s = 10.0, 1.0  # as baseline() would have measured
    probe.start()
    bump(root, "intel-rapl:0", 2_000_000)
    bump(root, "intel-rapl:1:0", 1_000_000)
    bump(root, "intel-rapl:1", 1_000_000)
    reading = probe.stop()
    # dram of package 0 did not move: a counted zone that does not advance voids the window
    assert reading.source == "none" and "intel-rapl:0:0 (dram) did not advance" in str(
        reading.reason
    )
    probe.start()
    for zone in ("intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1", "intel-rapl:1:0"):
        bump(root, zone, 1_500_000)
    reading = probe.stop()
    assert reading.source == "rapl" and reading.values["energy_j"] == pytest.approx(6.0)
    assert reading.values["idle_w"] == 10.0 and reading.window_s is not None


def test_a_counter_that_does_not_advance_is_none_never_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tree(tmp_path, "amd")
    monkeypatch.setenv(powercap.ROOT_ENV, str(root))
    probe = AutoEnergyProbe()
    probe.bind("cpu")
    probe.baseline(0.02)  # the frozen counter already shows in the idle baseline
    assert probe.idle_w is None and "did not advance" in (probe.idle_reason or "")
    probe.start()
    reading = probe.stop()
    assert reading.source == "none" and reading.values == {}
    assert "intel-rapl:0 (package-0) did not advance" in (reading.reason or "")
    e = Energy.from_readings([(reading, 100)], 1e9)
    assert e.source == "none" and e.j_per_inference is None


def test_no_meter_says_why_and_tdp_is_labelled_estimated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(powercap.ROOT_ENV, str(tmp_path / "none"))
    probe = AutoEnergyProbe()
    probe.bind("cpu")
    probe.start()
    reading = probe.stop()
    assert reading.source == "none" and "no powercap tree" in (reading.reason or "")
    monkeypatch.setenv("CNNBENCH_TDP_W", "65")
    probe = AutoEnergyProbe()
    probe.bind("cpu")
    assert isinstance(probe.meter, TdpMeter)
    probe.baseline(1.0)
    assert probe.idle_w is None and "no idle baseline" in (probe.idle_reason or "")
    probe.start()
    time.sleep(0.2)  # a window long against the probe's own bookkeeping, even on a busy machine
    reading = probe.stop()
    assert reading.source == "estimated"
    assert "not measured" in str(reading.values["note"])
    assert reading.values["energy_j"] == pytest.approx(65 * (reading.window_s or 0), rel=0.2)


def test_idle_subtraction_and_efficiency_on_synthetic_readings() -> None:
    # 2 s windows at 30 W active, 10 W idle, 400 calls of batch 8, 2 GFLOP per call.
    r = ProbeReading("energy", "energy", "rapl", {"energy_j": 60.0, "idle_w": 10.0}, None, 2.0)
    e = Energy.from_readings([(r, 400)], 2e9, images_per_inference=8)
    assert e.j_per_inference == pytest.approx(0.15)
    assert e.dynamic_j_per_inference == pytest.approx((60 - 20) / 400)
    assert e.images_per_j == pytest.approx(8 / 0.1) and e.gflop_per_j == pytest.approx(20)
    below = ProbeReading("energy", "energy", "rapl", {"energy_j": 10.0, "idle_w": 10.0}, None, 2.0)
    e = Energy.from_readings([(below, 400)], 2e9)
    assert e.dynamic_j_per_inference is None and e.basis == "total"
    assert "did not exceed idle" in (e.reason or "")


class FakeClock:
    """Each call() advances time by 1 ms; the clock itself costs nothing."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns

    def call(self) -> None:
        self.ns += 1_000_000


def test_a_short_window_is_extended_by_repeating_the_workload() -> None:
    clock = FakeClock()
    budget = Budget(seconds=0.01, min_samples=5, max_samples=10, target_rel_ci=0.5)
    plain = time_calls(clock.call, budget, clock=clock)
    assert plain.extra_calls == 0
    clock = FakeClock()
    longer = time_calls(clock.call, budget, clock=clock, min_window_s=0.1)
    timed = len(longer.samples_ns)
    assert timed == len(plain.samples_ns)  # the timed samples do not change
    assert timed + longer.extra_calls == 100  # 100 calls of 1 ms fill the 0.1 s window
