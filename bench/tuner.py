"""Does the tuner find what measuring everything finds, for a fraction of the time? And how
does its best compare with OpenVINO's own THROUGHPUT hint?

Per round, in rotating order (so that a drift of the machine hits each alike):
(A) ``cnnbench tune``'s search (successive halving, finalists on the full budget);
(B) the exhaustive grid, every point on the full budget;
(C) ``benchmark_app -hint throughput`` (OpenVINO picks streams, threads and requests itself) on
the same ONNX file at batch 1 and at the batch A chose.
Printed: best found / true best (A's best images/s over B's best), time taken A / B (wall time
of the whole search, workers and parent), and A's best / the hint's images/s.

    python bench/tuner.py [--model resnet18] [--input-shape 3x64x64] [--rounds 2] [--budget 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.graph.export import onnx_path
from cnnbench.studies.tuner import engine_measure, exhaustive, grid, tune


def hint_throughput(model: str, shape: tuple[int, ...], batch: int, seconds: float) -> float:
    """Images/s of ``benchmark_app -hint throughput`` on the cached export at ``batch``."""
    path = onnx_path(model, (batch, *shape))
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).parent / "benchmark_app")
    cmd = [exe, "-m", str(path), "-d", "CPU", "-hint", "throughput", "-infer_precision", "f32"]
    cmd += ["-t", str(int(max(seconds, 1)))]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Throughput:\s+([0-9.]+) FPS", text)
    if not match:
        raise RuntimeError(f"no throughput in benchmark_app's output:\n{text[-2000:]}")
    return float(match.group(1))  # benchmark_app counts images (batch x inferences) per second


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--input-shape", default="3x64x64")
    p.add_argument("--engine", default="openvino")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--batches", default="1,2,4")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--budget", type=float, default=3.0, help="full budget (s), as cnnbench run's")
    p.add_argument("--min-budget", type=float, default=0.2)
    args = p.parse_args()
    shape = tuple(int(d) for d in args.input_shape.split("x"))
    points = grid(args.engine, args.cores, [int(b) for b in args.batches.split(",")])
    print(f"{args.model} {args.input_shape} on {args.engine}: {len(points)} grid points")
    rows: list[dict[str, Any]] = []
    with LocalExecutor() as executor:
        measure = engine_measure(args.model, shape, args.engine, pool=executor.pool)

        def search() -> Any:
            return tune(
                points,
                measure,
                objective="throughput",
                min_budget_s=args.min_budget,
                full_budget_s=args.budget,
            )

        def everything() -> Any:
            return exhaustive(points, measure, objective="throughput", budget_s=args.budget)

        for r in range(args.rounds):
            got: dict[str, Any] = {}
            order = ["tuner", "exhaustive", "hint"]
            order = order[r % 3 :] + order[: r % 3]
            for name in order:
                t0 = time.perf_counter()
                if name == "tuner":
                    got[name] = search()
                elif name == "exhaustive":
                    got[name] = everything()
                else:
                    b_best = got["tuner"].best.point.batch if "tuner" in got else None
                    got[name] = {1: hint_throughput(args.model, shape, 1, args.budget * 3)}
                    if b_best not in (None, 1):
                        got[name][b_best] = hint_throughput(
                            args.model, shape, b_best, args.budget * 3
                        )
                got[name + "_s"] = time.perf_counter() - t0
            a, b = got["tuner"].best, got["exhaustive"].best
            if a.point.batch not in got["hint"]:
                got["hint"][a.point.batch] = hint_throughput(
                    args.model, shape, a.point.batch, args.budget * 3
                )
            hint_best = max(got["hint"].values())
            row = {
                "found": a.images_per_s / b.images_per_s,
                "time": got["tuner_s"] / got["exhaustive_s"],
                "hint": a.images_per_s / hint_best,
            }
            rows.append(row)
            print(
                f"round {r + 1} ({' '.join(order)}): tuner best {a.point.label} "
                f"{a.images_per_s:.1f} img/s in {got['tuner_s']:.1f} s "
                f"({len(got['tuner'].evaluated)} evaluations); exhaustive best {b.point.label} "
                f"{b.images_per_s:.1f} img/s in {got['exhaustive_s']:.1f} s; hint "
                + ", ".join(f"b{k} {v:.1f}" for k, v in sorted(got["hint"].items()))
                + " img/s"
            )
            print(
                f"  best found / true best {row['found']:.3f}; time tuner / exhaustive "
                f"{row['time']:.3f}; tuner best / THROUGHPUT hint {row['hint']:.3f}"
            )
    med = {k: statistics.median(r[k] for r in rows) for k in ("found", "time", "hint")}
    print(
        f"median over {len(rows)} rounds: best found / true best {med['found']:.3f}, "
        f"time tuner / exhaustive {med['time']:.3f}, tuner best / THROUGHPUT hint {med['hint']:.3f}"
    )


if __name__ == "__main__":
    main()
