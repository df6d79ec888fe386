"""The load probe: other work over the timed window, from /proc files in the kernel's format."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from cnnbench.measure.probes.base import ProbeReading
from cnnbench.measure.probes.load import (
    CpuTimes,
    LoadProbe,
    contended,
    load_warnings,
    parse_pressure,
    parse_proc_stat,
    parse_self_stat,
    reading,
    snapshot,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "load"


def test_parsers_read_the_kernel_formats() -> None:
    stat = (FIXTURES / "before/proc/stat").read_text()
    busy, steal = parse_proc_stat(stat)
    assert busy == 4162055 + 220166 + 602900 + 0 + 8462 + 5197  # user nice system irq softirq steal
    assert steal == 5197
    # the command name holds a space and parentheses: fields count from the last ')'
    assert parse_self_stat((FIXTURES / "before/proc/self/stat").read_text()) == (
        1200 + 35,
        52407,
        0,
    )
    assert parse_self_stat((FIXTURES / "after/proc/self/stat").read_text()) == (1275 + 40, 52410, 2)
    assert parse_pressure((FIXTURES / "before/proc/pressure/cpu").read_text()) == 4542381539
    with pytest.raises(ValueError):
        parse_proc_stat("intr 1 2 3\n")


def test_a_window_reads_others_steal_and_pressure_from_fixture_trees() -> None:
    clock = iter([100.0, 101.0])
    before = snapshot(FIXTURES / "before", lambda: next(clock))
    after = snapshot(FIXTURES / "after", lambda: next(clock))
    r = reading(before, after, hz=100, cpus=2)
    # 140 busy ticks, 80 of them this process's: 60 ticks = 0.6 CPU over the 1 s window
    assert r.values["others_cpus"] == pytest.approx(0.6)
    assert r.values["steal_cpus"] == pytest.approx(0.1)
    assert r.values["cpu_pressure"] == pytest.approx(0.25)  # 250 ms of stall in 1 s
    assert r.window_s == pytest.approx(1.0) and r.source == "/proc/stat, /proc/pressure/cpu"
    assert r.values["minor_faults"] == 3 and r.values["major_faults"] == 2
    assert load_warnings([r]) == [
        "load: other work kept 0.60 CPU busy in the timed window, 0.10 of it steal; "
        "the timing may be inflated",
        "load: 2 major page fault(s) in the timed window: memory the run uses was paged out "
        "under it and read back",
    ]


def test_without_psi_the_reading_says_so_and_an_idle_window_warns_nothing() -> None:
    clock = iter([0.0, 2.0])
    before = snapshot(FIXTURES / "before", lambda: next(clock))
    after = snapshot(FIXTURES / "nopsi", lambda: next(clock))
    assert after.some_stall_us is None
    r = reading(before, after, hz=100, cpus=2)
    assert "cpu_pressure" not in r.values and r.source == "/proc/stat"
    assert r.values["others_cpus"] == pytest.approx(0.3)
    assert r.values["major_faults"] == 2  # the nopsi tree's process stat is the after one
    idle = reading(before, replace(before, wall_s=before.wall_s + 1), hz=100, cpus=2)
    assert idle.values["others_cpus"] == 0 and load_warnings([idle]) == []
    assert reading(before, before, 100, 2).source == "none"  # an empty window


def test_a_window_shorter_than_its_ticks_can_resolve_is_not_called_contended() -> None:
    start = CpuTimes(0.0, 0, 0, 0, None)
    short = reading(start, CpuTimes(0.01, 1, 0, 0, None), hz=100, cpus=2)  # one tick in 10 ms
    assert short.values["others_cpus"] == pytest.approx(1.0)
    assert short.values["resolution_cpus"] == pytest.approx(2.0)
    assert not contended(short) and load_warnings([short]) == []
    long = reading(start, CpuTimes(1.0, 30, 0, 0, None), hz=100, cpus=2)  # 0.30 +- 0.02
    assert contended(long) and load_warnings([long])


def test_rounds_are_named_and_unavailable_readings_are_skipped() -> None:
    busy = CpuTimes(0.0, 0, 0, 0, None)
    loaded = reading(busy, CpuTimes(1.0, 50, 0, 0, None), hz=100, cpus=2)
    calm = reading(busy, CpuTimes(1.0, 5, 0, 0, None), hz=100, cpus=2)
    none = ProbeReading.unavailable("load", "other", "no /proc")
    warnings = load_warnings([calm, loaded, none])
    assert len(warnings) == 1 and "(round 2)" in warnings[0] and "0.50 CPU" in warnings[0]


def test_faults_per_inference_above_the_limit_are_flagged() -> None:
    clock = iter([0.0, 1.0])
    before = snapshot(FIXTURES / "before", lambda: next(clock))
    quiet = reading(before, replace(before, wall_s=1.0), hz=100, cpus=2)
    # The record adds the window's inferences; 3,445 faults a call (eager torch, mobilenet_v2).
    churn = replace(quiet, values={**quiet.values, "minor_faults": 68_900, "inferences": 20})
    (warning,) = load_warnings([churn])
    assert warning.startswith("load: 3,445 minor page faults per inference") and "keep" in warning
    kept = replace(quiet, values={**quiet.values, "minor_faults": 5 * 256, "inferences": 5})
    assert load_warnings([kept]) == []  # 256 a call is not above the limit
    unknown = replace(quiet, values={**quiet.values, "minor_faults": 68_900})
    assert load_warnings([unknown]) == []  # without the calls, no rate


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux /proc")
def test_the_real_probe_sees_a_busy_process_beside_it() -> None:
    spin = "import time\nend = time.time() + 3\nwhile time.time() < end: pass\n"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        time.sleep(0.3)  # the child is up and spinning
        probe = LoadProbe()
        probe.start()
        time.sleep(1.0)  # this process idles; the child keeps about one CPU busy
        r = probe.stop()
    finally:
        child.kill()
        child.wait()
    assert r.source.startswith("/proc/stat") and r.window_s is not None
    assert isinstance(r.values["others_cpus"], float) and r.values["others_cpus"] > 0.5


def test_status_says_what_the_load_reading_can_read(tmp_path: Path) -> None:
    from cnnbench.measure.probes.status import load_status

    full = load_status(FIXTURES / "before")
    assert full.available and "/proc/pressure/cpu" in full.detail
    partial = load_status(FIXTURES / "nopsi")
    assert partial.available and "no PSI" in partial.detail
    assert not load_status(tmp_path).available
