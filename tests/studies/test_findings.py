"""The finders on hand-made records: each finding carries its numbers and its sources."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cnnbench.measure.stats import summarize
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import Cost, LayerRecord
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.studies.findings import (
    layer_time_vs_flops,
    more_flops_lower_latency,
    overhead_vs_threads,
    rank_inversions,
)
from cnnbench.studies.findings_patterns import (
    accelerated_speedup,
    best_parallel_mode,
    flops_latency_correlation,
    spearman,
)
from cnnbench.studies.plan import StudyPoint
from cnnbench.studies.runner import StudyResult

MACHINE = {"id": "m1"}


def rec(
    model: str,
    median_ms: float,
    *,
    target: str = "big",
    engine: str = "torch",
    gflop: float = 1.0,
    threads: int | None = None,
    streams: int = 1,
    mode: str = "latency",
    spread: float = 0.01,
    layers: tuple[LayerRecord, ...] = (),
    ips: float | None = None,
) -> ResultRecord:
    samples = tuple(median_ms * (1 + spread * x) for x in np.linspace(-1, 1, 41))
    t = Target(engine, threads=threads, streams=streams, name=target)
    spec = RunSpec(ModelRef(model), (3, 32, 32), 1, t, mode, Budget())
    flops = int(gflop * 1e9)
    return ResultRecord(
        spec=spec,
        status="ok",
        machine=MACHINE,
        software={},
        latency_ms=summarize(samples),
        throughput_ips=ips if ips is not None else 1e3 / median_ms,
        cost=Cost("test", per="image", macs=flops // 2, flops=flops),
        layers=layers,
    )


def results(*records: ResultRecord, metric: str = "latency") -> list[StudyResult]:
    return [StudyResult(StudyPoint(r.spec, (metric,)), r, (metric,)) for r in records]


def test_more_flops_lower_latency_with_margin_and_significance() -> None:
    alex = rec("alexnet", 5.0, gflop=1.4)
    mobile = rec("mobilenet_v1", 8.0, gflop=1.1)
    slow = rec("vgg16", 50.0, gflop=30.0)
    (f,) = more_flops_lower_latency(results(alex, mobile, slow))
    assert f.numbers["more_flops_model"] == "alexnet"
    assert f.numbers["margin"] == 8.0 / 5.0 - 1
    assert f.significant is True and set(f.sources) == {alex.id, mobile.id}
    # Overlapping confidence intervals: found, but not significant.
    close = rec("mobilenet_v1", 5.05, gflop=1.1, spread=0.2)
    wide = rec("alexnet", 5.0, gflop=1.4, spread=0.2)
    (g,) = more_flops_lower_latency(results(wide, close))
    assert g.significant is False


def test_rank_inversion_between_two_targets_of_one_engine() -> None:
    records = [
        rec("alexnet", 5.0, target="big"),
        rec("mobilenet_v1", 8.0, target="big"),
        rec("alexnet", 20.0, target="small"),
        rec("mobilenet_v1", 12.0, target="small"),
        rec("alexnet", 1.0, target="small", engine="openvino"),  # another engine: not compared
    ]
    (f,) = rank_inversions(results(*records))
    assert f.numbers["models"] == ["alexnet", "mobilenet_v1"]
    assert f.significant is True and len(f.sources) == 4


def test_layer_shares_and_overhead_against_threads() -> None:
    layers = (
        LayerRecord("c", "conv", time_ms=2.0, macs=5_000, flops=10_000),
        LayerRecord("b", "batchnorm", time_ms=1.0, flops=100),
    )
    one = rec("m", 4.0, threads=1, mode="profile", layers=layers)
    two = rec("m", 6.0, threads=2, mode="profile", layers=layers)
    found = layer_time_vs_flops(results(one, metric="layers"))
    (bn,) = [f for f in found if f.numbers["layer_type"] == "batchnorm"]
    assert abs(bn.numbers["time_share"] - 1 / 3) < 1e-9
    assert abs(bn.numbers["flop_share"] - 100 / 10_100) < 1e-9
    (over,) = overhead_vs_threads(results(one, two, metric="layers"))
    shares = [p["overhead_share"] for p in over.numbers["points"]]
    assert shares == [1 / 4, 3 / 6] and over.numbers["rising"] is True


def test_spearman_and_pattern_correlation() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == 1.0
    assert spearman([1, 2, 3], [30, 20, 10]) == -1.0
    assert spearman([1, 2], [1, 2]) is None
    recs = [
        rec(f"pattern/standard?depth={d}&width=8", ms, gflop=d / 10)
        for d, ms in ((10, 3.0), (20, 2.0), (30, 1.0))
    ]
    (f,) = flops_latency_correlation(results(*recs))
    assert f.numbers["pattern"] == "standard" and f.numbers["rho"] == -1.0


def test_accelerated_speedup_per_pattern() -> None:
    recs = []
    for depth, torch_ms, ov_ms in ((10, 4.0, 1.0), (20, 8.0, 4.0)):
        name = f"pattern/grouped?depth={depth}&width=8"
        recs += [rec(name, torch_ms), rec(name, ov_ms, engine="openvino")]
    (f,) = accelerated_speedup(results(*recs))
    assert f.numbers["family"] == "grouped" and f.numbers["mean_speedup"] == 3.0
    assert [p["depth"] for p in f.numbers["points"]] == [10, 20]


def test_best_parallel_mode_and_its_margins() -> None:
    points = [(1, 2, 100.0), (2, 2, 150.0), (2, 4, 120.0), (4, 4, 90.0)]  # streams, threads, ips
    recs = [
        rec("resnet101_cifar", 10.0, engine="openvino", streams=s, threads=t, ips=ips)
        for s, t, ips in points
    ]
    (f,) = best_parallel_mode(results(*recs, metric="workload"), images=1000)
    best = f.numbers["best"]
    assert (best["streams"], best["threads_per_stream"]) == (2, 1)
    assert abs(best["seconds"] - 1000 / 150) < 1e-9
    assert abs(f.numbers["margin_over_next"] - (150 / 120 - 1)) < 1e-9
    assert abs(f.numbers["margin_over_one_stream"] - (150 / 100 - 1)) < 1e-9


def test_finders_ignore_failed_records_and_other_metrics() -> None:
    ok = rec("alexnet", 5.0, gflop=2.0)
    bad = replace(rec("mobilenet_v1", 8.0, gflop=1.0), status="oom", latency_ms=None)
    assert more_flops_lower_latency(results(ok, bad)) == []
    assert more_flops_lower_latency(results(ok, rec("x", 8.0), metric="layers")) == []
