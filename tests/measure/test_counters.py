"""perf stat and cachegrind parsers on fixture files in the tools' exact formats, a real perf run
limited to the window through its control fifo, cachegrind for real, clock telemetry."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cnnbench.measure.isolation import run_worker
from cnnbench.measure.probes import cachegrind
from cnnbench.measure.probes.clock import ClockProbe, clock_warnings, read_clocks_mhz
from cnnbench.measure.probes.perf import PerfProbe, parse_perf_csv, reading_from_lines
from cnnbench.results.meters import Counters, ProbeReading

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PERF = FIXTURES / "perf"
CG = FIXTURES / "cachegrind"


def test_perf_counted_lines_and_multiplexing() -> None:
    lines = parse_perf_csv((PERF / "intel-counted.csv").read_text())
    assert [ln.event for ln in lines][:3] == ["instructions", "cycles", "cache-references"]
    reading = reading_from_lines(lines)
    v = reading.values
    assert reading.source == "perf" and v["instructions"] == 4182736512
    assert v["LLC_load_misses"] == 1234567 and v["task_clock_ms"] == 1002.35
    assert v["fp_arith_inst_retired_512b_packed_single"] == "not counted"
    assert "multiplexed" in (reading.reason or "") and "LLC-load-misses" in (reading.reason or "")
    c = Counters.from_readings(
        [reading.__class__(**{**reading.__dict__, "values": {**v, "inferences": 1000}})]
    )
    assert c.per_inference["instructions"] == pytest.approx(4182736.512)
    assert c.unsupported == ("fp_arith_inst_retired_512b_packed_single",)


def test_perf_not_supported_and_not_counted_are_never_zero() -> None:
    amd = reading_from_lines(parse_perf_csv((PERF / "amd-not-counted.csv").read_text()))
    assert amd.values["LLC_load_misses"] == "not supported"
    assert amd.values["fp_ret_sse_avx_ops_all"] == "not counted"
    kvm = reading_from_lines(parse_perf_csv((PERF / "kvm-no-pmu.csv").read_text()))
    assert kvm.source == "none" and "no PMU" in (kvm.reason or "")
    assert "instructions (not supported)" in (kvm.reason or "")


@pytest.mark.skipif(shutil.which("perf") is None, reason="perf is not installed")
def test_perf_counts_the_timed_window_through_its_control_fifo() -> None:
    """The worker imports and spins 0.3 s before its window and 0.1 s inside it: perf's
    task-clock (CPU time; a software event, counted even without a PMU) sees the window only,
    so it cannot exceed the window's wall time (one thread; less on a shared machine)."""
    out = run_worker("worker_entries:perf_window", {}, timeout_s=120, launchers=[PerfProbe()])
    assert out.status == "ok", out.stderr_tail
    assert out.result["acknowledged"] == 2  # enable and disable, both acknowledged by perf
    (reading,) = out.probe_readings
    task_ms = float(reading.values["task_clock_ms"])  # type: ignore[arg-type]
    window_ms = out.result["window_ms"]
    assert 0 < task_ms < 1.1 * window_ms + 5
    if reading.source == "none":  # this KVM guest: no hardware event, said plainly
        assert "no PMU" in (reading.reason or "")
    else:
        assert isinstance(reading.values["instructions"], float)


def test_cachegrind_out_file_is_parsed() -> None:
    """A cachegrind.out written by valgrind 3.19 (function records trimmed, summary kept)."""
    one = cachegrind.parse_cachegrind_out((CG / "calls-1.out").read_text())
    assert one == {
        "Ir": 798756771,
        "I1mr": 8248916,
        "ILmr": 29223,
        "Dr": 231601032,
        "D1mr": 5284568,
        "DLmr": 87995,
        "Dw": 114352733,
        "D1mw": 988239,
        "DLmw": 258625,
    }
    per = cachegrind.per_record({k: float(v) for k, v in one.items()})
    assert per["instructions"] == 798756771 and per["data_writes"] == 114352733
    assert per["d1_misses"] == 5284568 + 988239
    assert per["ll_misses"] == 87995 + 258625 + 29223
    # The same tiny net with 11 calls: two workers' start-up differs by more than ten calls of
    # a tiny net (hence the bigger net of the real test, and "below noise" in the probe).
    eleven = cachegrind.parse_cachegrind_out((CG / "calls-11.out").read_text())
    assert abs(eleven["Ir"] - one["Ir"]) < 0.01 * one["Ir"]
    with pytest.raises(ValueError, match="summary"):
        cachegrind.parse_cachegrind_out("events: Ir\n")


def test_cache_sizes_from_sysfs_fixture() -> None:
    caches = cachegrind.machine_caches(CG / "sysfs-cache")
    assert cachegrind.cache_options(caches) == [
        "--I1=32768,8,64",
        "--D1=49152,12,64",
        "--LL=33554432,16,64",
    ]
    odd = cachegrind.Cache(3, "Unified", 12 * 1024 * 1024, 16, 64)  # 12288 sets
    assert cachegrind._power_of_two_sets(odd).size_b == 8 * 1024 * 1024


VALGRIND = pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind")
SLOW = pytest.mark.skipif(not os.environ.get("CNNBENCH_SLOW"), reason="set CNNBENCH_SLOW=1")


def _cachegrind_totals(calls: int) -> dict[str, float]:
    out = run_worker(
        "worker_entries:numpy_net",
        {"calls": calls},
        timeout_s=600,
        threads=1,
        launchers=[cachegrind.CachegrindLauncher()],
    )
    assert out.status == "ok", out.stderr_tail
    (reading,) = out.probe_readings
    assert reading.source == "cachegrind (simulated)"
    return {k: float(v) for k, v in reading.values.items()}  # type: ignore[arg-type]


@pytest.mark.slow  # ~40 s of CPU (two Python workers under valgrind); runs by default
@VALGRIND
def test_real_cachegrind_on_a_tiny_numpy_network() -> None:
    """Two workers under cachegrind (valgrind installed: it runs for real), 1 and 11
    inferences of a tiny NumPy conv net: the difference is ten inferences' work."""
    one, eleven = _cachegrind_totals(1), _cachegrind_totals(11)
    per = cachegrind.per_record({k: (eleven[k] - one[k]) / 10 for k in one})
    # 23 M MACs per inference in float32 (AVX2 under valgrind, 8 lanes per FMA): millions of
    # instructions, fewer than the worker's start-up (hundreds of millions).
    assert 1e6 < per["instructions"] < 1e8 < one["Ir"]
    assert 0 < per["d1_misses"] < per["data_reads"] + per["data_writes"]


@pytest.mark.slow
@VALGRIND
@SLOW
def test_cachegrind_differences_agree() -> None:
    """1, 11 and 21 inferences: the two ten-inference differences agree."""
    a, b, c = (_cachegrind_totals(n)["Ir"] for n in (1, 11, 21))
    assert c - b == pytest.approx(b - a, rel=0.05)


@pytest.mark.slow
@VALGRIND
@SLOW
def test_cachegrind_probe_on_tinynet_torch() -> None:
    from cnnbench.spec import ModelRef, RunSpec, Target

    spec = RunSpec(ModelRef("tinynet"), (3, 32, 32), 1, Target("torch", threads=1))
    reading = cachegrind.CachegrindProbe().measure(spec.to_dict(), 900)
    assert reading.source == "cachegrind (simulated)", reading.reason
    assert float(reading.values["instructions"]) > 0  # type: ignore[arg-type]
    assert "AVX2" in (reading.reason or "")


def test_clock_from_cpufreq_fixture_and_warnings(tmp_path: Path) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    for i, cpu in enumerate(cpus):
        d = tmp_path / "sys/devices/system/cpu" / f"cpu{cpu}" / "cpufreq"
        d.mkdir(parents=True)
        (d / "scaling_cur_freq").write_text(f"{3_500_000 - 1_000_000 * (i % 2)}\n")
    clocks, source = read_clocks_mhz(tmp_path)
    assert source == "scaling_cur_freq" and clocks[0] == 3500.0
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("cpu MHz\t\t: 2596.096\n" * (max(cpus) + 1))
    shutil.rmtree(tmp_path / "sys")
    probe = ClockProbe(tmp_path, sample_s=0.01)
    probe.start()
    reading = probe.stop()
    assert reading.source == "/proc/cpuinfo cpu MHz"
    assert reading.values["clock_median_mhz"] == 2596.096
    assert "not visible" in (reading.reason or "")
    a = ProbeReading(
        "clock",
        "other",
        "x",
        {"clock_min_mhz": 2000, "clock_max_mhz": 3500, "clock_median_mhz": 3400},
    )
    b = ProbeReading(
        "clock",
        "other",
        "x",
        {"clock_min_mhz": 2800, "clock_max_mhz": 2810, "clock_median_mhz": 2805},
    )
    warnings = clock_warnings([a, b])
    assert warnings[0].startswith("clock: moved between 2000 and 3500 MHz in the window (round 1)")
    assert warnings[1] == "clock: round medians differ (2805 to 3400 MHz)"
    assert clock_warnings([b]) == []
