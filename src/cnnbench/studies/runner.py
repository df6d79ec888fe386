"""Running a study on top of :mod:`cnnbench.execute`: resume, interleaved chunks, progress.

* **Resume by default.** A point whose key (its spec hash @ this machine) has an ``ok`` record
  in the store is skipped; ``fresh`` measures everything again. Records are written as each
  chunk finishes (the parent is the only writer, one transaction per record), so a study killed
  at any moment (Ctrl-C, ``kill -9`` of the parent, a crash) loses at most the chunk in flight,
  and a re-run continues where it stopped without measuring anything twice.
* **Order.** Points are grouped into comparisons (same model, shape, batch, mode; the targets
  differ) and each comparison is measured interleaved (:mod:`cnnbench.execute.sweep`: round 1
  runs every target once, round 2 again, ...), so machine drift spreads over all targets
  instead of favouring the ones measured first. A comparison is cut into chunks of
  ``settings.group_size`` targets, the unit that is stored (and lost to a kill).
* **Failures** (``oom``, ``timeout``, ``unsupported``, ``crashed``, ``failed``) are recorded by
  the executor machinery and the study goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from cnnbench.execute.executors.base import Executor
from cnnbench.execute.run import Skipped, execute, group_for_comparison
from cnnbench.execute.sweep import batch_ladder
from cnnbench.measure.records import Environment
from cnnbench.results.record import ResultRecord, run_key
from cnnbench.spec import RunSpec
from cnnbench.store.sqlite import Store
from cnnbench.studies.plan import StudyPlan, StudyPoint


@dataclass
class StudyEvents:
    """Callbacks a front end (the CLI's progress bar) gives the runner; all optional."""

    total: Callable[[int], None] | None = None  # worker tasks planned (an upper bound)
    task: Callable[[str], None] | None = None  # a worker task starts
    chunk_done: Callable[[int], None] | None = None  # tasks reserved for a finished chunk
    record: Callable[[ResultRecord], None] | None = None
    skip: Callable[[Skipped], None] | None = None


@dataclass(frozen=True)
class StudyRun:
    """What a study run did."""

    plan: StudyPlan
    measured: tuple[ResultRecord, ...]
    skipped: tuple[Skipped, ...]
    seconds: float
    fresh: bool = False

    @property
    def failed(self) -> tuple[ResultRecord, ...]:
        return tuple(r for r in self.measured if r.status != "ok")

    def summary(self) -> dict[str, object]:
        by_status: dict[str, int] = {}
        for rec in self.failed:
            by_status[rec.status] = by_status.get(rec.status, 0) + 1
        return {
            "study": self.plan.study.name,
            "quick": self.plan.study.quick,
            "points": len(self.plan.points),
            "measured": sum(1 for r in self.measured if r.status == "ok"),
            "skipped": len(self.skipped),
            "failed": len(self.failed),
            "failed_by_status": by_status,
            "seconds": round(self.seconds, 1),
            "not_planned": list(self.plan.notes),
            "unavailable": {m: reason for m, reason in self.plan.unavailable},
        }


def _tasks(chunk: Sequence[RunSpec], rounds: int | None) -> int:
    """Worker tasks a chunk takes at most (a throughput sweep may stop early)."""
    spec = chunk[0]
    if spec.mode == "throughput":
        return len(chunk) * len(batch_ladder(spec.batch))
    if spec.mode == "profile":
        return len(chunk)
    return len(chunk) * (rounds or (3 if len(chunk) > 1 else 1))


def chunks(specs: Sequence[RunSpec], size: int) -> list[list[RunSpec]]:
    """Comparisons in order of first appearance, each cut into chunks of ``size`` targets."""
    out: list[list[RunSpec]] = []
    for group in group_for_comparison(specs):
        out += [group[i : i + size] for i in range(0, len(group), size)]
    return out


def run_study(
    plan: StudyPlan,
    store: Store,
    env: Environment,
    *,
    executor: Executor | None = None,
    fresh: bool = False,
    events: StudyEvents | None = None,
) -> StudyRun:
    ev = events or StudyEvents()
    started = time.monotonic()
    settings = plan.study.settings
    specs = plan.specs
    # Each spec's share of the worker tasks of its chunk: what the progress bar advances by
    # when its record lands or when resume skips it.
    share: dict[RunSpec, float] = {}
    for chunk in chunks(specs, settings.group_size):
        for spec in chunk:
            share[spec] = _tasks(chunk, settings.rounds) / len(chunk)
    if ev.total:
        ev.total(round(sum(share.values())))
    done_tasks = [0.0]

    def advance(spec: RunSpec) -> None:
        done_tasks[0] += share.get(spec, 1.0)
        if ev.chunk_done:
            ev.chunk_done(round(done_tasks[0]))

    def record(rec: ResultRecord) -> None:
        if ev.record:
            ev.record(rec)
        advance(rec.spec)

    def skip(s: Skipped) -> None:
        if ev.skip:
            ev.skip(s)
        advance(s.spec)

    # One execution: resume per machine the specs may run on (a fleet's nodes included),
    # comparisons cut into chunks of group_size, each stored as it ends (a kill loses at most
    # the chunks in flight), chunks on several nodes at once where the executor has them.
    result = execute(
        specs,
        store,
        env,
        executor=executor,
        resume=not fresh,
        rounds=settings.rounds,
        timeout_s=settings.timeout_s,
        group_size=settings.group_size,
        on_done=record,
        on_skip=skip,
        progress=ev.task,
    )
    measured, skipped = list(result.records), list(result.skipped)
    return StudyRun(plan, tuple(measured), tuple(skipped), time.monotonic() - started, fresh)


@dataclass(frozen=True)
class StudyResult:
    """A point and its newest ok record on this machine (labelled with the study's target)."""

    point: StudyPoint
    record: ResultRecord
    metrics: tuple[str, ...] = field(default=())


def study_results(plan: StudyPlan, store: Store, machine_id: str) -> list[StudyResult]:
    """The study's ok records in the store, one per point: what findings are computed from."""
    keys = {p.spec: run_key(p.spec.spec_hash(), machine_id) for p in plan.points}
    ids = store.ok_run_ids(keys.values())
    out = []
    for point in plan.points:
        run_id = ids.get(keys[point.spec])
        if run_id is None:
            continue
        rec = store.get(run_id, samples=False)
        # The study's name for the target (a record made elsewhere may carry another or none).
        rec = replace(rec, spec=replace(rec.spec, target=point.spec.target))
        out.append(StudyResult(point, rec, point.metrics))
    return out
