"""The prediction table: per-layer vs MACs-only vs SyNERGY's form, held out by network and family.

Usage: python bench/predict.py DB [ENGINE [STATISTIC]] (default onnxruntime, median; p10 or min
predict a low quantile of each run's samples, which others' load inflates least). Reads this
machine's profiles (and cachegrind counters) for ENGINE from the store DB, e.g. one filled by
``cnnbench predict fit --collect -e ENGINE --db DB``; prints the machine's load, the
cross-validation table, the per-kind methods of the per-layer fit and the per-network errors.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

from cnnbench.measure.records import Environment
from cnnbench.predict.dataset import load_samples
from cnnbench.predict.evaluate import cross_validate
from cnnbench.predict.predictors import PerLayer
from cnnbench.report.predict import eval_tables
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions


def main(db: str, engine: str, statistic: str) -> None:
    console = Console(width=200)
    machine = str(Environment(collect(), software_versions()).machine["id"])
    with Store(db, create=False) as store:
        samples, _ = load_samples(store, engine, machine, statistic=statistic)
    load = os.getloadavg()
    print(f"target: end-to-end {statistic}; machine {machine}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"{os.cpu_count()} CPUs; {len(samples)} networks "
          f"({sum(s.counts is not None for s in samples)} with cachegrind counts)")  # fmt: skip
    evals = [cross_validate(samples, "network"), cross_validate(samples, "family")]
    for table in eval_tables(engine, evals, networks=True):
        console.print(table)
    patterns = [s for s in samples if s.family.startswith("pattern/")]
    if len(patterns) >= 4:
        print("the design-pattern networks alone (measured together, minutes apart):")
        evals_p = [cross_validate(patterns, "network"), cross_validate(patterns, "family")]
        console.print(eval_tables(engine, evals_p)[0])
    fit = PerLayer().fit(samples)
    for kind, m in fit.methods().items():
        line, tree = m["line_error"], m["tree_error"]
        errors = (
            "" if line is None else f" (held-out share error: line {line:.2f}, trees {tree:.2f})"
        )
        print(f"kind {kind:<12} {m['method']:<6} {m['rows']:>4} kernels{errors}")
    for ev in evals:
        for name in ("per-layer", "macs-only"):
            worst = ", ".join(f"{f} {e:.0f}%" for f, e in ev.worst_families(name, 4))
            print(f"held out by {ev.by}, {name}: worst families {worst}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        args[0], args[1] if len(args) > 1 else "onnxruntime", args[2] if len(args) > 2 else "median"
    )
