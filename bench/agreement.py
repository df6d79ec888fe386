"""Does ``cnnbench run`` agree with the engines' own tools? Interleaved rounds, ratio of medians.

OpenVINO: ``benchmark_app`` (installed with the openvino package) in synchronous latency mode,
fp32 (``-infer_precision f32``), one stream, the same thread count, on the same ONNX graph.
ONNX Runtime: a bare loop over ``InferenceSession.run`` in a fresh process, same threads.
Goal: the ratio of medians within +-3 %.

    python bench/agreement.py [--model resnet18] [--threads 2] [--rounds 3] [--budget 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from _common import cnnbench, python_json

ORT_LOOP = """
import json, time, numpy as np, onnxruntime as ort
so = ort.SessionOptions()
so.intra_op_num_threads = {threads}
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession({path!r}, so, providers=["CPUExecutionProvider"])
x = np.random.default_rng(0).standard_normal({shape}, dtype=np.float32)
feed = {{s.get_inputs()[0].name: x}}
end = time.perf_counter() + {budget} / 4
while time.perf_counter() < end:
    s.run(None, feed)
clock = time.perf_counter_ns
samples, end = [], clock() + int({budget} * 1e9)
while clock() < end or len(samples) < 10:
    t0 = clock(); s.run(None, feed); samples.append(clock() - t0)
print(json.dumps({{"median_ms": float(np.median(samples)) / 1e6, "n": len(samples)}}))
"""


def benchmark_app(path: Path, threads: int, seconds: float) -> float:
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).parent / "benchmark_app")
    cmd = [
        exe,
        "-m",
        str(path),
        "-d",
        "CPU",
        "-api",
        "sync",
        "-hint",
        "none",
        "-nstreams",
        "1",
        "-nthreads",
        str(threads),
        "-infer_precision",
        "f32",
        "-t",
        str(int(max(seconds, 1))),
    ]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Median:\s+([0-9.]+) ms", text)
    if not match:
        raise RuntimeError(f"no median in benchmark_app's output:\n{text[-2000:]}")
    return float(match.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--budget", type=float, default=3.0)
    args = p.parse_args()
    from cnnbench.graph import onnx_path
    from cnnbench.models import get_model_info

    shape = (1, *get_model_info(args.model).input_shape)
    path = onnx_path(args.model, shape)
    env = dict(os.environ)
    results: dict[str, list[tuple[float, float]]] = {"openvino": [], "onnxruntime": []}
    for r in range(args.rounds):
        for engine in ("openvino", "onnxruntime"):
            rec = cnnbench(
                [
                    "run",
                    args.model,
                    "-e",
                    engine,
                    "--threads",
                    str(args.threads),
                    "--budget",
                    str(args.budget),
                    "--ci",
                    "0.002",
                    "--rounds",
                    "1",
                ],
                env,
            )[0]
            ours = rec["latency_ms"]["median"]
            if engine == "openvino":
                theirs = benchmark_app(path, args.threads, args.budget)
            else:
                code = ORT_LOOP.format(
                    path=str(path), threads=args.threads, shape=shape, budget=args.budget
                )
                theirs = python_json(code, env)["median_ms"]
            results[engine].append((ours, theirs))
            print(
                f"round {r} {engine:<12} cnnbench {ours:8.3f} ms   own tool {theirs:8.3f} ms   "
                f"ratio {ours / theirs:.3f}"
            )
    for engine, pairs in results.items():
        ours = statistics.median(a for a, _ in pairs)
        theirs = statistics.median(b for _, b in pairs)
        tool = "benchmark_app" if engine == "openvino" else "bare InferenceSession.run loop"
        print(
            f"{args.model} {engine}: cnnbench {ours:.3f} ms vs {tool} {theirs:.3f} ms, "
            f"ratio of medians {ours / theirs:.3f} (goal within +-3 %)"
        )


if __name__ == "__main__":
    main()
