"""Ray's overhead per spec: the same small sweep through the local executor and through the ray
executor (a local Ray with one slot, so both run one worker at a time), interleaved.

    PYTHONPATH=src python bench/fleet.py [--reps 3] [--specs 3] [--budget 0.2]

Prints each repetition's wall time per spec for both, the ratio ray / local and the seconds
Ray adds per spec; Ray's start-up (once per invocation) is reported apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cnnbench.execute.executors import get_executor
from cnnbench.execute.executors.base import Executor
from cnnbench.execute.run import execute
from cnnbench.measure.records import Environment
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions


def sweep(n: int, budget_s: float) -> list[RunSpec]:
    """``n`` comparisons of one target each (tinynet on torch, batches 1..n)."""
    budget = Budget(seconds=budget_s, min_samples=5, warmup_max_s=budget_s / 2)
    target = Target("torch", threads=1)
    return [
        RunSpec(ModelRef("tinynet"), (3, 32, 32), b, target, budget=budget) for b in range(1, n + 1)
    ]


def timed(executor: Executor, specs: list[RunSpec], env: Environment, db: Path) -> float:
    with Store(db) as store:
        start = time.perf_counter()
        result = execute(specs, store, env, executor=executor)
        wall = time.perf_counter() - start
    assert all(r.status == "ok" for r in result.records), [r.error for r in result.records]
    return wall / len(specs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--specs", type=int, default=3)
    ap.add_argument("--budget", type=float, default=0.2)
    args = ap.parse_args()
    specs = sweep(args.specs, args.budget)
    env = Environment(collect(), software_versions())
    local = get_executor("local")
    with get_executor("ray") as ray, tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        ray.nodes(env.machine)  # start the local Ray, read the node's fingerprint
        print(f"ray start-up (once): {time.perf_counter() - start:.2f} s")
        timed(ray, specs[:1], env, Path(tmp) / "warm.db")  # first task starts a Ray worker
        rows = []
        for rep in range(args.reps):
            # Alternate which goes first, so a drift of the machine favours neither.
            order = (
                [("local", local), ("ray", ray)]
                if rep % 2 == 0
                else [("ray", ray), ("local", local)]
            )
            got = {
                name: timed(ex, specs, env, Path(tmp) / f"{name}-{rep}.db") for name, ex in order
            }
            rows.append((got["local"], got["ray"]))
            print(
                f"rep {rep + 1}: local {got['local']:.2f} s/spec  ray {got['ray']:.2f} s/spec  "
                f"ratio {got['ray'] / got['local']:.2f}"
            )
    lo = statistics.median(r[0] for r in rows)
    ra = statistics.median(r[1] for r in rows)
    print(
        f"median over {args.reps} reps of {len(specs)} specs: local {lo:.2f} s/spec, "
        f"ray {ra:.2f} s/spec, ratio {ra / lo:.2f}, Ray adds {ra - lo:+.2f} s per spec"
    )


if __name__ == "__main__":
    main()
