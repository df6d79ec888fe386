"""Executors: the protocol, the local executor, the registry and the sweep loop over them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from cnnbench.errors import BadInput
from cnnbench.execute.executors import WorkerTask, executor_names, get_executor, run_all
from cnnbench.execute.executors.base import Executor, OnStart
from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.sweep import measure_latency_group
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.records import Environment
from cnnbench.spec import Budget, ModelRef, RunSpec, Target

QUICK = Budget(seconds=0.2, min_samples=4, warmup_max_s=0.1)


def _spec(engine: str = "torch", threads: int = 1) -> RunSpec:
    return RunSpec(
        ModelRef("tinynet"), (3, 32, 32), 1, Target(engine, threads=threads), budget=QUICK
    )


class ReversingExecutor(Executor):
    """Finishes tasks in reverse order (as a fleet may), recording what it was asked."""

    name = "reversing"

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.inner = LocalExecutor()

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        self.batches.append([t.label for t in tasks])
        done = list(self.inner.run(tasks, on_start))
        yield from reversed(done)


def test_registry_names_the_local_executor_and_refuses_unknown_ones() -> None:
    assert "local" in executor_names()
    assert isinstance(get_executor("local"), LocalExecutor)
    with pytest.raises(BadInput, match="did you mean local"):
        get_executor("locl")


def test_run_all_puts_outcomes_back_in_task_order() -> None:
    ex = ReversingExecutor()
    tasks = [WorkerTask(_spec(threads=1), label="a"), WorkerTask(_spec(threads=2), label="b")]
    started: list[str] = []
    outcomes = run_all(ex, tasks, lambda t: started.append(t.label))
    assert started == ["a", "b"]
    assert [o.status for o in outcomes] == ["ok", "ok"]
    # Each worker's read-back of its thread count proves which spec it ran.
    assert [o.result["effective"]["threads"] for o in outcomes] == [1, 2]


def test_interleaved_rounds_go_through_the_executor_in_rounds() -> None:
    ex = ReversingExecutor()
    env = Environment({"id": "m-test"}, {})
    a, b = _spec("torch"), _spec("onnxruntime")
    ra, rb = measure_latency_group([a, b], env, ex, rounds=2)
    assert ex.batches == [
        ["tinynet on torch, round 1/2", "tinynet on onnxruntime, round 1/2"],
        ["tinynet on torch, round 2/2", "tinynet on onnxruntime, round 2/2"],
    ]
    # Out-of-order completion does not swap records between specs.
    assert ra.spec.target.engine == "torch" and rb.spec.target.engine == "onnxruntime"
    assert ra.status == rb.status == "ok"


def test_the_model_is_costed_once_per_spec_and_every_record_keeps_the_cost() -> None:
    from cnnbench.execute.sweep import measure_throughput_group

    ex = ReversingExecutor()
    flags: list[list[bool]] = []
    inner_run = ex.run

    def run(tasks, on_start=None):  # type: ignore[no-untyped-def]
        flags.append([t.cost for t in tasks])
        return inner_run(tasks, on_start)

    ex.run = run  # type: ignore[method-assign]
    env = Environment({"id": "m-test"}, {})
    a, b = _spec("torch"), _spec("onnxruntime")
    records = measure_latency_group([a, b], env, ex, rounds=2)
    assert flags == [[True, True], [False, False]]  # rounds after the first share its cost
    assert [r.cost.macs for r in records] == [272_544, 272_544]
    flags.clear()
    (sweep,) = measure_throughput_group([replace(a, batch=2, mode="throughput")], env, ex)
    assert flags == [[True], [False]]  # batch 1 costs the model, batch 2 does not
    assert sweep.cost.macs == 272_544  # per image, kept whichever batch was best
