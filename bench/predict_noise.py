"""The floor under a latency predictor's error: how far a network's own target moves between
two measurements on this machine.

Usage: python bench/predict_noise.py DB_A DB_B ENGINE [THREADS [STATISTIC]]. Each DB holds one
collection of the same training networks (``cnnbench predict fit -e ENGINE --collect --db DB``
twice, minutes apart, each in fresh workers). For every network profiled in both, it prints the
second end-to-end figure against the first and the per-network relative difference; the summary
is in the predictor's own metrics (mean absolute % difference, share within +-5 % and +-10 %):
a perfect predictor of the first collection scores this against the second.

Or: python bench/predict_noise.py DB ENGINE [THREADS [STATISTIC]], one DB with repeated
profiles (``--collect --repeats N``): every pair of rounds compared as above (round 1 against
round 2, ...), and each round against the median of the others: how far one profile of a
network strays from what its repeats agree on, which the median of N rounds mostly removes.
"""

from __future__ import annotations

import statistics
import sys
from itertools import combinations

from cnnbench.measure.records import Environment
from cnnbench.predict.dataset import Sample, load_samples, select, target_ms
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions


def _networks(
    db: str, engine: str, machine: str, threads: int | None, stat: str
) -> dict[str, Sample]:
    with Store(db, create=False) as store:
        samples, _ = load_samples(store, engine, machine, threads=threads, statistic=stat)
    return {s.model: s for s in samples if not s.probe}


def _rounds(
    db: str, engine: str, machine: str, threads: int | None, stat: str
) -> dict[str, list[float]]:
    """Per network (probes left out): the end-to-end figure of each repeated profile of its
    newest spec, oldest first."""
    with Store(db, create=False) as store:
        records = select(
            store.query(engine=engine, status="ok", samples=stat == "p10"),
            engine,
            threads=threads,
            machine_id=machine,
        )
    out: dict[str, list[float]] = {}
    newest: dict[str, str] = {}
    for rec in records:  # newest first
        name = rec.spec.model.name
        if rec.spec.mode != "profile" or not rec.layers or name.startswith("layer/"):
            continue
        if newest.setdefault(name, rec.spec_hash) == rec.spec_hash:
            out.setdefault(name, []).insert(0, target_ms(rec, stat))
    return {k: v for k, v in out.items() if len(v) > 1}


def _summary(label: str, diffs: list[float]) -> None:
    within = {t: sum(d <= t for d in diffs) / len(diffs) for t in (5, 10)}
    print(
        f"{label}: {len(diffs)} pairs, mean |diff| {statistics.fmean(diffs):.1f} % "
        f"(SD {statistics.stdev(diffs):.1f}), median {statistics.median(diffs):.1f} %, "
        f"within 5 % {within[5]:.0%}, within 10 % {within[10]:.0%}, max {max(diffs):.1f} %"
    )


def repeats(db: str, engine: str, threads: int | None, stat: str) -> None:
    machine = str(Environment(collect(), software_versions()).machine["id"])
    rounds = _rounds(db, engine, machine, threads, stat)
    if not rounds:
        raise SystemExit("no network has two profiles of one spec (use --collect --repeats N)")
    n = min(len(v) for v in rounds.values())
    for model, values in sorted(rounds.items()):
        cells = " ".join(f"{v:9.3f}" for v in values)
        print(f"{model:<58} {cells} ms  {100 * (max(values) / min(values) - 1):5.1f} % range")
    head = f"{engine}, threads {threads or 'default'}, {stat}, {len(rounds)} networks"
    for i, j in combinations(range(n), 2):
        diffs = [100 * abs(v[j] / v[i] - 1) for v in rounds.values()]
        _summary(f"{head}: round {j + 1} against round {i + 1}", diffs)
    if n >= 3:
        diffs = [
            100 * abs(v[i] / statistics.median(v[:i] + v[i + 1 :]) - 1)
            for v in rounds.values()
            for i in range(len(v))
        ]
        _summary(f"{head}: each round against the median of the others", diffs)


def main(a: str, b: str, engine: str, threads: int | None, stat: str) -> None:
    machine = str(Environment(collect(), software_versions()).machine["id"])
    first, second = (_networks(db, engine, machine, threads, stat) for db in (a, b))
    diffs = []
    for model in sorted(first.keys() & second.keys()):
        x, y = first[model].latency_ms, second[model].latency_ms
        diffs.append(100 * abs(y / x - 1))
        print(f"{model:<58} {x:10.3f} {y:10.3f} ms {100 * (y / x - 1):+6.1f} %")
    if not diffs:
        raise SystemExit("no network is profiled in both stores")
    _summary(f"{engine}, threads {threads or 'default'}, {stat}", diffs)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    two = args[1].endswith(".db")
    rest = args[3:] if two else args[2:]
    threads = int(rest[0]) if rest and rest[0] != "default" else None
    stat = rest[1] if len(rest) > 1 else "median"
    if two:
        main(args[0], args[1], args[2], threads, stat)
    else:
        repeats(args[0], args[1], threads, stat)
