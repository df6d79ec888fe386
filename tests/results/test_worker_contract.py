"""The worker -> parent contract: WorkerResult from the worker, rounds merged into a record.

The merge tests build worker outcomes by hand (no child process); the worker tests call the
worker's entry in this process, on tinynet with a tiny budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.job import run_measurement, worker_cost
from cnnbench.measure.probes.base import Probe
from cnnbench.measure.records import Environment, merge_outcomes
from cnnbench.results import Cost, Effective, ProbeReading, Streams, Warmup, WorkerResult
from cnnbench.results.effective import IsaException
from cnnbench.spec import Budget, ModelRef, RunSpec, Target

ENV = Environment({"id": "m1", "cpu_model": "Test CPU"}, {"python": "3"})
QUICK = Budget(seconds=0.05, min_samples=3, warmup_max_s=0.05)
COST = Cost("graph", per="image", macs=500, flops=1000, weight_bytes=10, activation_bytes=20)


def _spec(**kw: object) -> RunSpec:
    target = Target("torch", threads=1, isa=kw.pop("isa", None))  # type: ignore[arg-type]
    return RunSpec(ModelRef("tinynet"), (3, 32, 32), 1, target, budget=QUICK, **kw)  # type: ignore[arg-type]


def _outcome(result: WorkerResult, *launched: ProbeReading, started: float = 0.0) -> WorkerOutcome:
    return WorkerOutcome(
        result.status, result.to_json(), result.error, 0, 2.0, "", started, tuple(launched)
    )


def _round(energy_j: float, *, calls: int = 100) -> WorkerResult:
    readings = (
        ProbeReading("meter", "energy", "test-meter", {"energy_j": energy_j}, None, 1.0),
        ProbeReading("count", "counters", "test", {"instructions": 1000, "tag": "x"}, None, 1.0),
    )
    return WorkerResult(
        samples_ns=tuple(1_000_000 + 1000 * i for i in range(50)),
        warmup=Warmup(calls - 50, 0.1, True),
        stop_reason="ci",
        rel_half_width=0.005,
        prepare_s=1.0,
        effective=Effective("fp32", 1),
        cost=COST,
        window_calls=calls,
        probes=readings,
    )


def test_probe_readings_land_in_energy_counters_and_probes() -> None:
    launched = ProbeReading("cachegrind", "counters", "cachegrind (simulated)", {"D1mr": 7})
    rec = merge_outcomes(
        _spec(), [_outcome(_round(2.0), launched), _outcome(_round(3.0), started=5.0)], ENV, 2
    )
    assert rec.status == "ok"
    e = rec.energy
    assert e.source == "test-meter" and e.probe == "meter"
    assert e.energy_j == 5.0 and e.window_s == 2.0 and e.inferences == 200
    assert e.j_per_inference == pytest.approx(5.0 / 200)
    assert e.dynamic_j_per_inference is None and e.basis == "total"  # no idle baseline
    assert e.gflop_per_j == pytest.approx(1000 / (5.0 / 200) / 1e9)
    c = rec.counters
    assert c.counts == {"instructions": 2000, "D1mr": 7}
    assert c.source == "test + cachegrind (simulated)"
    assert [p.probe for p in rec.probes] == ["meter", "count", "cachegrind", "meter", "count"]
    assert len(rec.timing.rounds) == 2 and rec.timing.round_spread is not None


def test_without_probes_the_sections_say_not_requested() -> None:
    rec = merge_outcomes(_spec(), [_outcome(WorkerResult(samples_ns=(1000,) * 5))], ENV)
    assert rec.energy.source == rec.counters.source == "none"
    assert "no energy probe was requested" in (rec.energy.reason or "")
    assert rec.probes == ()


def test_a_failed_round_keeps_its_status_cost_and_error() -> None:
    failed = WorkerResult(status="oom", error="MemoryError: ", cost=COST)
    rec = merge_outcomes(_spec(), [_outcome(_round(1.0)), _outcome(failed)], ENV, 3)
    assert rec.status == "oom" and rec.error == "MemoryError:  (round 2 of 3)"
    assert rec.cost == COST and rec.latency_ms is None
    assert rec.energy.source == "none" and "status oom" in (rec.energy.reason or "")
    timeout = WorkerOutcome("timeout", {}, "no result within 5 s", None, 5.0, "")
    rec = merge_outcomes(_spec(), [timeout], ENV)
    assert rec.status == "timeout" and rec.cost.source == "none"
    assert rec.timing.rounds[0].worker_wall_s == 5.0


def test_an_unreadable_worker_result_is_a_failed_record() -> None:
    bad = WorkerOutcome("ok", {"samples_ns": ["x"]}, None, 0, 1.0, "")
    rec = merge_outcomes(_spec(), [bad], ENV)
    assert rec.status == "failed" and "samples_ns" in (rec.error or "")


def test_warnings_ci_and_isa_exceptions() -> None:
    wide = WorkerResult(
        samples_ns=tuple(1_000_000 * (1 + (i % 7)) for i in range(20)),
        effective=Effective("fp32", 1, isa_exceptions=(IsaException("red", "Reduce", "avx512"),)),
    )
    rec = merge_outcomes(_spec(isa="avx2"), [_outcome(wide)], ENV)
    ci = [w for w in rec.warnings if w.startswith("ci: ")]
    assert ci and "wider than the" in ci[0]
    assert not any(w.startswith("precision:") for w in rec.warnings)
    isa = [w for w in rec.warnings if w.startswith("isa: ")]
    assert isa == ["isa: 1 node(s) run kernels above the avx2 cap: red (Reduce, avx512)"]


def test_streams_rounds_give_images_per_second_over_wall_time() -> None:
    streams = WorkerResult(
        samples_ns=(2_000_000,) * 10, streams=Streams("threads", 2, 10, 0.01, 1000.0)
    )
    rec = merge_outcomes(_spec(), [_outcome(streams)], ENV)
    assert rec.throughput_ips == pytest.approx(1000.0)
    assert rec.timing.rounds[0].streams == streams.streams


class FakeMeter(Probe):
    """An energy meter that always reads 2 J over the window."""

    name = "fake-meter"
    kind = "energy"

    def start(self) -> None:
        pass

    def stop(self) -> ProbeReading:
        return ProbeReading(self.name, self.kind, "fake", {"energy_j": 2.0}, None, 0.5)


def test_the_worker_puts_its_probe_readings_in_the_result_and_the_record() -> None:
    spec = _spec(probes=("test_worker_contract:FakeMeter", "probe_entries:CountingProbe", "null"))
    raw = run_measurement({"spec": spec.to_dict(), "agreement": False})
    result = WorkerResult.from_json(raw)
    assert result.status == "ok" and result.window_calls is not None
    assert result.window_calls == len(result.samples_ns)  # the window holds no warm-up call
    assert [p.probe for p in result.probes] == ["fake-meter", "counting", "null", "load"]
    rec = merge_outcomes(spec, [WorkerOutcome("ok", raw, None, 0, 1.0, "")], ENV)
    assert rec.energy.source == "fake" and rec.energy.inferences == result.window_calls
    assert rec.counters.counts == {"starts": 1, "stops": 1}
    assert rec.cost.macs == 272_544  # the graph cost model, computed in the worker


def test_a_cost_failure_in_the_worker_keeps_the_measurement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cnnbench.graph.source

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the exporter blew up")

    monkeypatch.setattr(cnnbench.graph.source, "source_onnx", explode)
    raw = run_measurement({"spec": _spec().to_dict()})
    result = WorkerResult.from_json(raw)
    assert result.status == "ok" and len(result.samples_ns) >= QUICK.min_samples
    assert result.cost.source == "none"
    assert "RuntimeError: the exporter blew up" in (result.cost.reason or "")
    assert result.agreement is not None and result.agreement.within_tolerance
    rec = merge_outcomes(_spec(), [WorkerOutcome("ok", raw, None, 0, 1.0, "")], ENV)
    assert rec.status == "ok" and rec.cost == result.cost


def test_a_users_onnx_file_is_costed_directly(tmp_path: Path) -> None:
    from cnnbench.graph.export import onnx_path
    from cnnbench.models.instance import ModelInstance

    path = onnx_path("tinynet", (1, 3, 32, 32))
    cost = worker_cost(ModelInstance(str(path), None, (1, 3, 32, 32), {"onnx_path": str(path)}))
    assert cost.available and cost.macs == 272_544 and cost.per == "image"
    missing = tmp_path / "nope.onnx"
    none = worker_cost(ModelInstance("x", None, (1, 3, 32, 32), {"onnx_path": str(missing)}))
    assert none.source == "none" and "does not exist" in (none.reason or "")
