"""LoadGen's detail log read into the ``loadgen`` section.

The fixtures are ``mlperf_log_detail.txt`` files as mlcommons-loadgen 6.0.17 wrote them (a
Python SUT that sleeps 2 ms per sample): SingleStream VALID, Server with a 1 ms bound (INVALID),
MultiStream without enough queries for early stopping, Offline whose expected QPS was too low,
and a Server FindPeakPerformance search.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnbench.measure.loadgen_log import parse_detail, to_result
from cnnbench.results.loadgen import LoadgenResult, LoadgenUsed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loadgen"
USED = LoadgenUsed("PerformanceOnly", 90.0, 1.0, 120.0, 64, 1, 1024, "test")


def _result(name: str, scenario: str) -> LoadgenResult:
    log = parse_detail((FIXTURES / f"{name}.detail.txt").read_text())
    return to_result(log, USED, scenario, "6.0.17", {"mlperf_log_detail.txt": 1})


def test_single_stream_valid_with_its_percentiles_and_early_stopping_estimate() -> None:
    r = _result("ss", "SingleStream")
    assert r.verdict == "VALID" and r.reasons == ()
    assert r.min_duration_met and r.min_queries_met and r.early_stopping_met
    assert r.query_count == 461
    assert r.latency_ms["p90"] == pytest.approx(2.197660)  # 2197660 ns in the log
    assert r.latency_ms["p99.9"] == pytest.approx(3.038362)
    assert r.latency_ms["min"] <= r.latency_ms["p50"] <= r.latency_ms["max"]
    assert r.early_stopping_ms == pytest.approx(2.208837)
    assert r.qps == pytest.approx(459.567)
    assert r.perf_constraints_met is None and r.peak_qps is None


def test_server_too_tight_is_invalid_with_loadgens_reason() -> None:
    r = _result("srv_bad", "Server")
    assert r.verdict == "INVALID"
    assert r.perf_constraints_met is False and r.early_stopping_met is False
    assert any("Reduce target QPS to improve latency" in x for x in r.reasons)
    assert any(x.startswith("performance constraints not met") for x in r.reasons)
    assert r.overlatency_queries == 190 and r.query_count == 190
    assert r.samples_per_s == pytest.approx(187.425)  # completed samples/s
    assert r.scheduled_samples_per_s == pytest.approx(187.852)


def test_multistream_keeps_per_query_latency_apart_and_names_early_stopping() -> None:
    r = _result("ms", "MultiStream")
    assert r.verdict == "INVALID"
    assert r.early_stopping_met is False
    assert any("Need to process at least 662 queries" in x for x in r.reasons)
    assert r.query_latency_ms["p99"] == pytest.approx(18.086958)
    assert r.latency_ms["p99"] == pytest.approx(16.928098)  # per sample, not per query


def test_offline_min_duration_not_met_and_samples_per_second() -> None:
    r = _result("off", "Offline")
    assert r.verdict == "INVALID" and r.min_duration_met is False
    assert "minimum duration not met" in r.reasons
    assert any("Increase expected QPS" in x for x in r.reasons)
    assert r.samples_per_s == pytest.approx(470.847)
    assert r.log.messages[-1].startswith("Ending naturally")


def test_find_peak_reports_the_peak_from_loadgens_messages() -> None:
    r = _result("fp", "Server")
    assert r.peak_qps == pytest.approx(334.375)
    assert any("FindPeakPerformanceBinarySearch" in m for m in r.log.messages)


def test_a_log_without_a_verdict_is_invalid_and_says_so() -> None:
    r = to_result(parse_detail("garbage\n:::MLLOG {not json\n"), USED, "Offline", "x", {})
    assert r.verdict == "INVALID"
    assert "no verdict" in r.reasons[0]


def test_the_section_round_trips_through_json() -> None:
    r = _result("srv_bad", "Server")
    assert LoadgenResult.from_json(r.to_json()) == r
