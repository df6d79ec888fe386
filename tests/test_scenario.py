"""LoadGen settings: checked values, which of them join the spec's hash, JSON round trip."""

from __future__ import annotations

import pytest

from cnnbench.errors import BadInput
from cnnbench.scenario import LoadgenSettings
from cnnbench.spec import ModelRef, RunSpec, Target


def _spec(lg: LoadgenSettings | None, mode: str = "loadgen", batch: int = 1) -> RunSpec:
    return RunSpec(ModelRef("tinynet"), (3, 32, 32), batch, Target("onnxruntime"), mode, loadgen=lg)


def test_identity_holds_the_scenario_and_its_traffic_not_the_length() -> None:
    short = _spec(LoadgenSettings("Server", target_qps=50, min_duration_s=1))
    long = _spec(LoadgenSettings("Server", target_qps=50, min_duration_s=60, min_queries=5000))
    assert short.spec_hash() == long.spec_hash()
    faster = _spec(LoadgenSettings("Server", target_qps=80))
    assert faster.spec_hash() != short.spec_hash()
    assert short.identity()["loadgen"] == {"scenario": "Server", "target_qps": 50.0}
    assert "loadgen" not in _spec(None, "latency").identity()  # old hashes hold


def test_spec_round_trips_with_its_settings() -> None:
    spec = _spec(LoadgenSettings("MultiStream", samples_per_query=4, min_queries=100))
    back = RunSpec.from_dict(spec.to_dict())
    assert back == spec and back.loadgen is not None and back.loadgen.min_queries == 100


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: LoadgenSettings("Serverr"), "unknown scenario"),
        (lambda: LoadgenSettings("SingleStream", target_qps=10), "Server and Offline"),
        (lambda: LoadgenSettings("Offline", latency_bound_ms=5), "applies to Server"),
        (lambda: LoadgenSettings("Offline", find_peak=True), "FindPeakPerformance"),
        (lambda: LoadgenSettings("Server", samples_per_query=4), "MultiStream"),
        (lambda: LoadgenSettings("Server", target_qps=0), "target QPS"),
        (lambda: LoadgenSettings("Server", min_duration_s=5, max_duration_s=1), "maximum"),
        (lambda: _spec(LoadgenSettings("SingleStream"), batch=4), "batch must be 1"),
        (lambda: _spec(LoadgenSettings("Offline"), mode="latency"), "mode loadgen"),
        (lambda: _spec(None), "mode loadgen"),
    ],
)
def test_bad_settings_are_bad_input(make: object, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        make()  # type: ignore[operator]


def test_default_min_queries_are_early_stoppings_minimum() -> None:
    assert LoadgenSettings("SingleStream").effective_min_queries == 64
    assert LoadgenSettings("Server").effective_min_queries == 662
    assert LoadgenSettings("Offline").effective_min_queries == 1
    assert LoadgenSettings("Server", min_queries=10).effective_min_queries == 10
