"""How repeatable is one ``cnnbench run``? Five separate invocations, spread of their medians.

    python bench/repeatability.py [--runs 5] [--model resnet50] [--budget 3]

Goal: max/min of the medians within 3 % on an otherwise idle machine.
"""

from __future__ import annotations

import argparse

from _common import cnnbench


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--model", default="resnet50")
    p.add_argument("--engine", default="torch")
    p.add_argument("--budget", type=float, default=3.0)
    p.add_argument("extra", nargs="*", help="more `cnnbench run` options, after --")
    args = p.parse_args()
    medians = []
    for i in range(args.runs):
        rec = cnnbench(
            ["run", args.model, "-e", args.engine, "--budget", str(args.budget), *args.extra]
        )[0]
        lat = rec["latency_ms"]
        medians.append(lat["median"])
        lo, hi = lat["ci95"]
        print(
            f"run {i}: median {lat['median']:.3f} ms  CI95 [{lo:.3f}, {hi:.3f}]  "
            f"n={lat['n']}  cv={lat['cv']:.1%}  threads={rec['effective'].get('threads')}"
        )
    spread = max(medians) / min(medians)
    print(
        f"{args.model} on {args.engine}: medians {min(medians):.3f}..{max(medians):.3f} ms, "
        f"max/min = {spread:.4f} ({(spread - 1) * 100:.2f} % spread; goal <= 3 %)"
    )


if __name__ == "__main__":
    main()
