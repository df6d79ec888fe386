"""The execution of a list of specs: skip what is done, measure the rest, store each record.

Specs are grouped into comparisons (:meth:`cnnbench.spec.RunSpec.comparison_key`); each group is
measured interleaved through an executor (:mod:`cnnbench.execute.sweep`), then the parent adds
the roofline and writes the record: the parent is the store's only writer, whatever executor
ran the workers.

Resume: a spec whose key (its hash @ this machine) already has an ``ok`` record in the store is
skipped and reported with that record's id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cnnbench.execute.enrich import with_roofline
from cnnbench.execute.executors.base import Executor
from cnnbench.execute.executors.local import LocalExecutor
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
    on_done: Callable[[ResultRecord], None] | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Execution:
    """Measure every spec (or, with ``resume``, every spec not yet measured here), storing each
    record as its group finishes. ``rounds`` defaults to 3 for a group of several targets."""
    todo: list[RunSpec] = list(specs)
    skipped: list[Skipped] = []
    if resume:
        todo, skipped = already_done(specs, store, str(env.machine["id"]))
        for skip in skipped:
            if on_skip:
                on_skip(skip)
    own = executor is None
    runner = executor if executor is not None else LocalExecutor()
    try:
        records = _execute_groups(todo, store, env, runner, rounds, timeout_s, on_done, progress)
    finally:
        if own:
            runner.close()
    return Execution(tuple(records), tuple(skipped))


def _execute_groups(
    todo: Sequence[RunSpec],
    store: Store,
    env: Environment,
    runner: Executor,
    rounds: int | None,
    timeout_s: float | None,
    on_done: Callable[[ResultRecord], None] | None,
    progress: Callable[[str], None] | None,
) -> list[ResultRecord]:
    records: list[ResultRecord] = []
    for group in group_for_comparison(todo):
        if group[0].mode == "throughput":
            done = measure_throughput_group(
                group, env, runner, timeout_s=timeout_s, progress=progress
            )
        else:
            n_rounds = rounds or (DEFAULT_COMPARISON_ROUNDS if len(group) > 1 else 1)
            if group[0].mode == "loadgen":
                n_rounds = 1  # one LoadGen run per spec: its verdict covers the whole run
            if group[0].mode in ("profile", "replay"):
                n_rounds = 1  # one profiled worker per spec (a record keeps one round's layers)
            done = measure_latency_group(
                group, env, runner, rounds=n_rounds, timeout_s=timeout_s, progress=progress
            )
        peaks = store.peaks(str(env.machine["id"]))
        for rec in done:
            rec = with_roofline(rec, peaks)
            store.save(rec)
            records.append(rec)
            if on_done:
                on_done(rec)
    return records
