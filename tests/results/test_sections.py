"""Every typed section survives to_json -> strict JSON text -> from_json unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cnnbench.errors import BadInput
from cnnbench.results import (
    Agreement,
    Cost,
    Counters,
    Effective,
    Energy,
    LatencyStats,
    LayerRecord,
    ProbeReading,
    Roofline,
    RoundTiming,
    Streams,
    SweepPoint,
    Throughput,
    Timing,
    Warmup,
    WorkerResult,
)
from cnnbench.results._json import Fields
from cnnbench.results.effective import IsaException
from cnnbench.results.exchange import dumps, loads

STATS = LatencyStats(1.5, 1.4, 1.9, 2.5, 1.1, 3.0, 0.2, 0.133, (1.35, 1.45), 120)
STREAMS = Streams("requests in flight", 2, 400, 0.5, 1600.0)
ROUND = RoundTiming(
    warmup=Warmup(250, 0.05, True),
    stop_reason="ci",
    rel_half_width=0.008,
    prepare_s=1.2,
    worker_wall_s=3.4,
    started_s=1795313945.25,
    affinity=(0, 1),
    median_ms=1.4,
    n=120,
)
ENERGY_READING = ProbeReading("rapl", "energy", "rapl", {"energy_j": 12.5, "zone": "package-0"})

SECTIONS: list[Any] = [
    STATS,
    Throughput("synchronous batch sweep", "plateau"),
    Throughput(
        "synchronous batch sweep",
        "batch 8 oom",
        (
            SweepPoint(1, "ok", 1.0, (0.9, 1.1), 1000.0, 50),
            SweepPoint(8, "oom", error="out of memory"),
        ),
        best_batch=1,
    ),
    STREAMS,
    Warmup(10, 0.01, False),
    Timing(),
    Timing((ROUND,), rel_half_width=0.008),  # one round: flat layout
    Timing((ROUND,), rel_half_width=0.02),  # one round whose figure differs: listed
    Timing((ROUND, RoundTiming(streams=STREAMS, n=3)), rel_half_width=0.01, round_spread=0.04),
    Timing((RoundTiming(worker_wall_s=3.0, started_s=1.0, affinity=(0,)),)),
    Effective(),
    Effective("fp32", 2, 1, "cpu", None, details={"mode": "eager", "graph": {"nodes": 11}}),
    Effective(
        "bf16",
        4,
        2,
        "CPU",
        "avx2",
        (IsaException("reduce_1", "Reduce", "jit_avx512"), IsaException("pool")),
    ),
    Cost.none("cost model failed: RuntimeError: boom"),
    Cost(
        "cnnbench.graph ONNX cost model",
        per="image",
        macs=272_544,
        flops=545_088,
        flops_all_ops=571_712,
        params=618,
        weight_bytes=2472,
        activation_bytes=135_336,
        layer_count=10,
        uncounted=("Einsum",),
        macs_by_type={"conv": 221_184, "fc": 160},
    ),
    Cost("old", per="image", macs=1, legacy={"crosscheck": {"macs": 1, "source": "torch"}}),
    Agreement("torch fp32 eager (cpu)", 1e-3, True, 1e-7, 2e-7, 1.0),
    Agreement("torch fp32 eager (cpu)", 1e-3, False, error="output shape [1] differs"),
    LayerRecord("conv1", "conv"),
    LayerRecord(
        "conv1+relu",
        "fused(conv+activation)",
        ("conv1", "relu1"),
        time_ms=0.12,
        calls=100,
        kernel="brgconv_avx512",
        macs=221_184,
        flops=442_368,
        bytes=9000,
    ),
    LayerRecord("rest", "overhead", time_ms=0.01),
    ENERGY_READING,
    ProbeReading.unavailable("rapl", "energy", "energy_uj is root only"),
    Energy.none("no energy probe was requested for this run"),
    Energy("rapl", None, "rapl", 12.5, 2.0, 1000, 6.25, 1.0, 0.0105, 0.05),
    Counters.none("no hardware PMU exposed"),
    Counters("perf", probe="perf", counts={"instructions": 1e9, "cycles": 5}, window_s=2.0),
    Roofline.none("no peaks measured on this machine"),
    Roofline("measured", None, 3.7, 400.0, 0.0094, 20.0, 3.9, 20.0, "memory", 79.1),
    WorkerResult(),
    WorkerResult(
        status="failed", error="RuntimeError: x", traceback="Traceback ...", affinity=(0,)
    ),
    WorkerResult(
        samples_ns=(1000, 1100, 1200),
        warmup=Warmup(5, 0.01, True),
        stop_reason="budget",
        rel_half_width=0.02,
        prepare_s=1.0,
        streams=STREAMS,
        effective=Effective("fp32", 1),
        cost=Cost("graph", per="image", macs=5),
        agreement=Agreement("torch", 1e-3, True, 0.0, 0.0, 1.0),
        engine_version="1.2.3",
        affinity=(1,),
        window_calls=8,
        probes=(ENERGY_READING,),
        layers=(LayerRecord("fc", "fc", macs=160),),
    ),
]


def _through_text(section: Any) -> Any:
    text = dumps(section.to_json())
    data = loads(text)
    if isinstance(section, SweepPoint | RoundTiming | LayerRecord):
        return type(section).from_json(Fields(data, "x"))
    return type(section).from_json(data)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: type(s).__name__)
def test_section_round_trip(section: Any) -> None:
    assert _through_text(section) == section


def test_a_none_section_says_why_and_holds_no_zeros() -> None:
    for none in (Cost.none("x"), Energy.none("x"), Counters.none("x"), Roofline.none("x")):
        assert none.to_json() == {"source": "none", "reason": "x"}
    with pytest.raises(ValueError, match="must say why"):
        Energy(source="none")
    with pytest.raises(BadInput, match=r"cost\.reason"):
        Cost.from_json({"source": "none"})


def test_effective_keeps_the_engines_flat_layout() -> None:
    engine = {"precision": "fp32", "threads": 2, "streams": 1, "device": "cpu", "mode": "eager"}
    eff = Effective.from_json(engine)
    assert eff.details == {"mode": "eager"} and eff.threads == 2
    assert eff.to_json() == {**engine, "isa": None}
    with pytest.raises(ValueError, match="repeat typed fields"):
        Effective(details={"threads": 3})


def test_layer_types_come_from_the_taxonomy() -> None:
    with pytest.raises(BadInput, match="not a layer type"):
        LayerRecord("x", "convolution")
    with pytest.raises(BadInput, match=r"layers\[0\]\.layer_type"):
        LayerRecord.from_json(Fields({"name": "x", "layer_type": "nope"}, "layers[0]"))


def test_strict_json_refuses_nan_and_infinity() -> None:
    with pytest.raises(BadInput, match="x must be a finite number"):
        dumps({"x": float("inf")})
    with pytest.raises(BadInput, match=r"x\[1\] must be an integer within 64 bits"):
        dumps({"x": [1, 2**63]})
    with pytest.raises(BadInput, match="x is not a JSON value"):
        dumps({"x": object()})
    with pytest.raises(BadInput, match="Infinity"):
        loads('{"x": Infinity}')
    with pytest.raises(BadInput, match="NaN"):
        loads('{"x": [NaN]}')
    with pytest.raises(BadInput, match="1e999"):
        loads('{"x": 1e999}')  # a float that overflows is no finite number either
    with pytest.raises(BadInput, match=r"a\.b must be an integer within 64 bits"):
        loads('{"a": {"b": 9223372036854775808}}')
    assert loads('{"a": -9223372036854775808}') == {"a": -(2**63)}
    with pytest.raises(BadInput, match="nested too deeply"):
        loads("[" * 65 + "]" * 65)
    with pytest.raises(BadInput, match="nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)  # beyond the parser's recursion: no traceback
    with pytest.raises(BadInput, match="a must be a finite number, got an integer of 401"):
        Fields({"a": 10**400}).number("a")  # no OverflowError on the way to a float
    with pytest.raises(BadInput, match=r"samples\[1\] must be a finite number"):
        dumps({"samples": [1.0, float("nan"), 2.0]})
    with pytest.raises(BadInput, match=r"latency_ms\.mean must be a finite number"):
        LatencyStats.from_json({**STATS.to_json(), "mean": 1e309 * 0})  # NaN


def test_energy_and_counters_from_readings() -> None:
    rounds = [
        (ProbeReading("rapl", "energy", "rapl", {"energy_j": 10.0, "idle_w": 1.0}, None, 2.0), 100),
        (ProbeReading("rapl", "energy", "rapl", {"energy_j": 14.0, "idle_w": 3.0}, None, 2.0), 100),
    ]
    e = Energy.from_readings(rounds, flops_per_inference=1e9, images_per_inference=4)
    assert e.source == "rapl" and e.energy_j == 24 and e.window_s == 4 and e.inferences == 200
    assert e.active_w == 6 and e.idle_w == 2  # each round's own baseline, time-weighted
    assert e.j_per_inference == pytest.approx(24 / 200)
    assert e.dynamic_j_per_inference == pytest.approx((24 - 1 * 2 - 3 * 2) / 200)
    assert e.basis == "dynamic"
    assert e.gflop_per_j == pytest.approx(1 / 0.08)
    assert e.images_per_j == pytest.approx(4 / 0.08)
    assert Energy.from_json(e.to_json()) == e
    no_idle = Energy.from_readings(
        [rounds[0], (ProbeReading("rapl", "energy", "rapl", {"energy_j": 14.0}, None, 2.0), 100)],
        None,
    )
    assert no_idle.dynamic_j_per_inference is None and no_idle.basis == "total"  # partial idle
    stuck = ProbeReading("rapl", "energy", "rapl", {"energy_j": 0.0}, None, 1.0)
    none = Energy.from_readings([(stuck, 10)], None)
    assert none.source == "none" and "did not advance" in (none.reason or "")
    assert Energy.from_readings([], None).reason == "no energy probe was requested for this run"
    perf = ProbeReading("perf", "counters", "perf", {"cycles": 10, "note": "x"}, None, 1.0)
    c = Counters.from_readings([perf, perf, ENERGY_READING])
    assert c.counts == {"cycles": 20} and c.source == "perf" and c.window_s == 2.0


def test_worker_result_reads_the_error_form_the_worker_writes() -> None:
    written = {"status": "oom", "error": "MemoryError: ", "traceback": "...", "affinity": [0, 1]}
    r = WorkerResult.from_json(json.loads(json.dumps(written)))
    assert (r.status, r.error, r.affinity, r.samples_ns) == ("oom", "MemoryError: ", (0, 1), ())
    assert r.cost.source == "none" and r.cost.reason
