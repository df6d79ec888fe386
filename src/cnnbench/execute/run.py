"""The execution of a list of specs: skip what is done, measure the rest, store each record.

Specs are grouped into comparisons (:meth:`cnnbench.spec.RunSpec.comparison_key`); each group is
measured interleaved through an executor (:mod:`cnnbench.execute.sweep`), then the parent adds
the roofline and writes the record: the parent is the store's only writer, whatever executor
ran the workers.

Resume: a spec whose key (its hash @ this machine) already has an ``ok`` record in the store is
skipped and reported with that record's id. On an executor with several nodes (a fleet), the
keys are those of the machines the spec may run on (:mod:`cnnbench.execute.placement`), and
groups run in parallel lanes, one per measurement slot; the parent still writes every record,
as each group finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from cnnbench.execute.enrich import with_roofline
from cnnbench.execute.executors.base import Executor, Where
from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.placement import group_placements, place, split_done
from cnnbench.execute.sweep import measure_latency_group, measure_throughput_group
from cnnbench.measure.records import Environment
from cnnbench.results.record import ResultRecord, run_key
from cnnbench.spec import RunSpec
from cnnbench.store.sqlite import Store

DEFAULT_COMPARISON_ROUNDS = 3  # interleaved rounds when a group compares several targets


@dataclass(frozen=True)
class Skipped:
    """A spec a resumed execution did not measure again, and the record that made it done."""

    spec: RunSpec
    run_id: str


@dataclass(frozen=True)
class Execution:
    """What an execution did: new records (any status) and the specs it skipped."""

    records: tuple[ResultRecord, ...]
    skipped: tuple[Skipped, ...]

    @property
    def all_ok(self) -> bool:
        return all(r.status == "ok" for r in self.records)


def group_for_comparison(specs: Sequence[RunSpec]) -> list[list[RunSpec]]:
    """Specs that differ only in their target, in order of first appearance."""
    groups: dict[tuple[object, ...], list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.comparison_key(), []).append(spec)
    return list(groups.values())


def already_done(
    specs: Sequence[RunSpec], store: Store, machine_id: str
) -> tuple[list[RunSpec], list[Skipped]]:
    """Split specs into those still to measure and those with an ok record on this machine."""
    keys = {spec: run_key(spec.spec_hash(), machine_id) for spec in specs}
    done = store.ok_run_ids(keys.values())
    todo = [s for s in specs if keys[s] not in done]
    skipped = [Skipped(s, done[keys[s]]) for s in specs if keys[s] in done]
    return todo, skipped


def execute(
    specs: Sequence[RunSpec],
    store: Store,
    env: Environment,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    rounds: int | None = None,
    timeout_s: float | None = None,
    group_size: int | None = None,
    on_done: Callable[[ResultRecord], None] | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Execution:
    """Measure every spec (or, with ``resume``, every spec not yet measured on the machines it
    may run on), storing each record as its group finishes. ``rounds`` defaults to 3 for a
    group of several targets; ``group_size`` cuts comparisons into groups of that many targets.
    A node selection that no node of the executor matches is a BadInput before anything runs."""
    own = executor is None
    runner = executor if executor is not None else LocalExecutor()
    try:
        return _execute(
            specs,
            store,
            env,
            runner,
            resume,
            rounds,
            timeout_s,
            group_size,
            on_done,
            on_skip,
            progress,
        )
    finally:
        if own:
            runner.close()


def _execute(
    specs: Sequence[RunSpec],
    store: Store,
    env: Environment,
    runner: Executor,
    resume: bool,
    rounds: int | None,
    timeout_s: float | None,
    group_size: int | None,
    on_done: Callable[[ResultRecord], None] | None,
    on_skip: Callable[[Skipped], None] | None,
    progress: Callable[[str], None] | None,
) -> Execution:
    todo = place(specs, runner.nodes(env.machine))
    skipped: list[Skipped] = []
    if resume:
        todo, done = split_done(todo, store)
        skipped = [Skipped(p.spec, run_id) for p, run_id in done]
        for skip in skipped:
            if on_skip:
                on_skip(skip)

    def measure(where: Where, group: list[RunSpec]) -> list[ResultRecord]:
        lane = runner.lane(where)
        if group[0].mode == "throughput":
            return measure_throughput_group(
                group, env, lane, timeout_s=timeout_s, progress=progress
            )
        n_rounds = rounds or (DEFAULT_COMPARISON_ROUNDS if len(group) > 1 else 1)
        if group[0].mode == "loadgen":
            n_rounds = 1  # one LoadGen run per spec: its verdict covers the whole run
        if group[0].mode in ("profile", "replay"):
            n_rounds = 1  # one profiled worker per spec (a record keeps one round's layers)
        return measure_latency_group(
            group, env, lane, rounds=n_rounds, timeout_s=timeout_s, progress=progress
        )

    stored: dict[int, list[ResultRecord]] = {}

    def keep(index: int, done: list[ResultRecord]) -> None:
        for rec in done:
            rec = with_roofline(rec, store.peaks(str(rec.machine["id"])))
            store.save(rec)
            stored.setdefault(index, []).append(rec)
            if on_done:
                on_done(rec)

    groups = group_placements(todo, group_size)
    if runner.slots <= 1 or len(groups) <= 1:
        for index, (where, group) in enumerate(groups):
            keep(index, measure(where, group))
    else:
        # One lane per slot; records are stored here, in this thread, as groups finish.
        pool = ThreadPoolExecutor(max_workers=min(runner.slots, len(groups)))
        try:
            futures = {pool.submit(measure, w, g): i for i, (w, g) in enumerate(groups)}
            for future in as_completed(futures):
                keep(futures[future], future.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    records = [rec for index in sorted(stored) for rec in stored[index]]  # in plan order
    return Execution(tuple(records), tuple(skipped))
