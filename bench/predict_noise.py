"""The floor under a latency predictor's error: how far a network's own target moves between
two measurements on this machine.

Usage: python bench/predict_noise.py DB_A DB_B ENGINE [THREADS [STATISTIC]]. Each DB holds one
collection of the same training networks (``cnnbench predict fit -e ENGINE --collect --db DB``
twice, minutes apart, each in fresh workers). For every network profiled in both, it prints the
second end-to-end figure against the first and the per-network relative difference; the summary
is in the predictor's own metrics (mean absolute % difference, share within +-5 % and +-10 %):
a perfect predictor of the first collection scores this against the second.
"""

from __future__ import annotations

import statistics
import sys

from cnnbench.measure.records import Environment
from cnnbench.predict.dataset import Sample, load_samples
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions


def _networks(
    db: str, engine: str, machine: str, threads: int | None, stat: str
) -> dict[str, Sample]:
    with Store(db, create=False) as store:
        samples, _ = load_samples(store, engine, machine, threads=threads, statistic=stat)
    return {s.model: s for s in samples if not s.probe}


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
    within = {t: sum(d <= t for d in diffs) / len(diffs) for t in (5, 10)}
    print(
        f"{engine}, threads {threads or 'default'}, {stat}: {len(diffs)} networks, mean |diff| "
        f"{statistics.fmean(diffs):.1f} % (SD {statistics.stdev(diffs):.1f}), median "
        f"{statistics.median(diffs):.1f} %, within 5 % {within[5]:.0%}, within 10 % "
        f"{within[10]:.0%}, max {max(diffs):.1f} %"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 3:
        raise SystemExit(__doc__)
    main(
        args[0],
        args[1],
        args[2],
        int(args[3]) if len(args) > 3 and args[3] != "default" else None,
        args[4] if len(args) > 4 else "median",
    )
