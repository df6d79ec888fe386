"""Parent-side measurement: specs in workers, interleaved rounds, throughput sweeps, records.

Specs that differ only in their target (the engines of one comparison) are measured
*interleaved*: round 1 runs A, B, C, round 2 runs A, B, C again, and so on, each round with a
share of the budget; every record merges its rounds' samples. A drift of the machine (another
job starting, thermal throttling) then spreads over all engines instead of favouring one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from cnnbench.execute.executors.base import Executor, WorkerTask, run_all
from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.records import Environment, merge_outcomes
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import Cost
from cnnbench.results.speed import SweepPoint, Throughput
from cnnbench.spec import Budget, RunSpec

PLATEAU_GAIN = 0.03  # a larger batch must raise images/s by 3 % to count as growth
PLATEAU_STEPS = 2  # the sweep stops after this many batches without growth

Progress = Callable[[str], None]


def round_budget(budget: Budget, rounds: int) -> Budget:
    """One round's share of a budget."""
    if rounds == 1:
        return budget
    return replace(
        budget,
        seconds=budget.seconds / rounds,
        min_samples=max(1, math.ceil(budget.min_samples / rounds)),
        max_samples=max(1, math.ceil(budget.max_samples / rounds)),
        warmup_max_s=budget.warmup_limit_s / rounds,
    )


def measure_latency_group(
    specs: Sequence[RunSpec],
    env: Environment,
    executor: Executor | None = None,
    *,
    rounds: int = 1,
    timeout_s: float | None = None,
    progress: Progress | None = None,
) -> list[ResultRecord]:
    """Latency of each spec, the specs interleaved over ``rounds`` rounds."""
    with _runner(executor) as runner:
        return _latency_group(specs, env, runner, rounds, timeout_s, progress)


@contextlib.contextmanager
def _runner(executor: Executor | None) -> Iterator[Executor]:
    """The given executor, or a local one of our own, closed when we are done with it."""
    if executor is not None:
        yield executor
        return
    with LocalExecutor() as own:
        yield own


def _latency_group(
    specs: Sequence[RunSpec],
    env: Environment,
    runner: Executor,
    rounds: int,
    timeout_s: float | None,
    progress: Progress | None,
) -> list[ResultRecord]:
    outcomes: list[list[WorkerOutcome]] = [[] for _ in specs]
    for r in range(rounds):
        live = [i for i, o in enumerate(outcomes) if not o or o[-1].status == "ok"]
        # a failed configuration is not retried in later rounds
        tasks = [
            WorkerTask(
                replace(specs[i], budget=round_budget(specs[i].budget, rounds)),
                timeout_s,
                f"{specs[i].model.name} on {specs[i].target.engine}, round {r + 1}/{rounds}",
                cost=not outcomes[i],  # the first round costs the model; the rounds share it
            )
            for i in live
        ]
        done = run_all(runner, tasks, _announce(progress))
        for i, outcome in zip(live, done, strict=True):
            outcomes[i].append(outcome)
    return [
        merge_outcomes(spec, outs, env, rounds) for spec, outs in zip(specs, outcomes, strict=True)
    ]


def _announce(progress: Progress | None) -> Callable[[WorkerTask], None] | None:
    if progress is None:
        return None
    return lambda task: progress(task.label)


def batch_ladder(max_batch: int) -> list[int]:
    """1, 2, 4, ... up to ``max_batch`` (which is included when it is not a power of two)."""
    out, b = [], 1
    while b < max_batch:
        out.append(b)
        b *= 2
    out.append(max_batch)
    return out


@dataclass
class _Sweep:
    """The running state of one spec's batch sweep."""

    spec: RunSpec
    points: list[SweepPoint]
    best: ResultRecord | None = None
    best_ips: float = 0.0
    cost: Cost | None = None  # from the first point, the only one that costs the model
    first: ResultRecord | None = None  # the first point's record (its machine, on a fleet)
    stale: int = 0
    stop: str | None = None

    def add(self, rec: ResultRecord) -> None:
        b = rec.spec.batch
        if self.first is None:
            self.first = rec
        if self.cost is None:
            self.cost = rec.cost
        if rec.status != "ok" or rec.latency_ms is None or rec.throughput_ips is None:
            self.points.append(SweepPoint(b, rec.status, error=rec.error))
            self.stop = f"batch {b} {rec.status}"
            return
        ips, lat = rec.throughput_ips, rec.latency_ms
        self.points.append(SweepPoint(b, rec.status, lat.median, lat.ci95, ips, lat.n))
        self.stale = 0 if ips > self.best_ips * (1 + PLATEAU_GAIN) else self.stale + 1
        if ips > self.best_ips:
            self.best, self.best_ips = rec, ips
        if self.stale >= PLATEAU_STEPS:
            self.stop = "plateau"

    def record(self, env: Environment) -> ResultRecord:
        summary = Throughput(
            "synchronous batch sweep", self.stop or "max batch reached", tuple(self.points)
        )
        best = self.best
        if best is None:
            first = self.points[0]
            where = self.first
            return ResultRecord(
                spec=self.spec,
                status=first.status,
                error=first.error,
                machine=where.machine if where else env.machine,
                software=where.software if where else env.software,
                throughput=summary,
            )
        summary = replace(summary, best_batch=best.spec.batch)
        cost = self.cost if self.cost is not None else best.cost
        return replace(
            best, spec=self.spec, throughput_ips=self.best_ips, throughput=summary, cost=cost
        )


def measure_throughput_group(
    specs: Sequence[RunSpec],
    env: Environment,
    executor: Executor | None = None,
    *,
    timeout_s: float | None = None,
    progress: Progress | None = None,
) -> list[ResultRecord]:
    """Batch sweeps (seed 000's max throughput), interleaved across the specs batch by batch.

    Each batch point runs in its own worker; images/s = batch / median latency of a synchronous
    batched call. A spec's sweep stops when images/s has not grown by 3 % for two batches, or a
    batch fails (out of memory, say). ``spec.batch`` is the largest batch allowed.
    """
    with _runner(executor) as runner:
        return _throughput_group(specs, env, runner, timeout_s, progress)


def _throughput_group(
    specs: Sequence[RunSpec],
    env: Environment,
    runner: Executor,
    timeout_s: float | None,
    progress: Progress | None,
) -> list[ResultRecord]:
    sweeps = [_Sweep(spec, []) for spec in specs]
    for b in batch_ladder(max(s.batch for s in specs)):
        live = [sw for sw in sweeps if sw.stop is None and b <= sw.spec.batch]
        points = [replace(sw.spec, batch=b, mode="latency") for sw in live]
        # Cost is per image: the first batch point costs the model, the sweep's record keeps it
        # (on torch this saves an export per batch size).
        tasks = [
            WorkerTask(
                p, timeout_s, f"{p.model.name} on {p.target.engine}, batch {b}", cost=not sw.points
            )
            for sw, p in zip(live, points, strict=True)
        ]
        for sw, point, outcome in zip(
            live,
            points,
            run_all(runner, tasks, _announce(progress)),
            strict=True,
        ):
            sw.add(merge_outcomes(point, [outcome], env))
    return [sw.record(env) for sw in sweeps]
