"""What does the tool add to a call? ``cnnbench run``'s median against a bare loop.

For each model, rounds alternate (A B A B ...): A is a full ``cnnbench run MODEL -e torch
--threads 1`` (worker process, warm-up, adaptive stopping); B is a fresh process with a bare
``perf_counter_ns`` loop around the same module call, same threads, same input. Both report the
median per-call time; the difference is the tool's overhead per call. Goal: <= 2 us or <= 1 %.

    python bench/overhead.py [--rounds 5] [--budget 3] [--models tinynet resnet18]
"""

from __future__ import annotations

import argparse
import os
import statistics

from _common import cnnbench, python_json

BARE = """
import json, time, numpy as np, torch
from cnnbench.models import create_model, get_model_info
torch.set_num_threads(1)
torch.manual_seed(0)
name = {name!r}
info = get_model_info(name)
m = create_model(name)
rng = np.random.default_rng(0)
x = torch.from_numpy(rng.standard_normal((1, *info.input_shape), dtype=np.float32))
budget = {budget}
with torch.inference_mode():
    end = time.perf_counter() + budget / 4
    while time.perf_counter() < end:
        m(x)
    samples = []
    clock = time.perf_counter_ns
    end = clock() + int(budget * 1e9)
    while clock() < end or len(samples) < 10:
        t0 = clock(); m(x); samples.append(clock() - t0)
print(json.dumps({{"median_ms": float(np.median(samples)) / 1e6, "n": len(samples)}}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--budget", type=float, default=3.0)
    p.add_argument("--models", nargs="+", default=["tinynet", "resnet18"])
    args = p.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    print(f"{'model':<10} {'round':>5} {'cnnbench ms':>12} {'bare ms':>10} {'diff us':>9}")
    for model in args.models:
        tool, bare = [], []
        for r in range(args.rounds):
            # The tool's own stopping rule may end early; give it the same budget as the loop
            # and a tight CI so both take comparable sample counts.
            rec = cnnbench(
                [
                    "run",
                    model,
                    "-e",
                    "torch",
                    "--threads",
                    "1",
                    "--budget",
                    str(args.budget),
                    "--ci",
                    "0.002",
                ],
                env,
            )[0]
            a = rec["latency_ms"]["median"]
            b = python_json(BARE.format(name=model, budget=args.budget), env)["median_ms"]
            tool.append(a)
            bare.append(b)
            print(f"{model:<10} {r:>5} {a:>12.4f} {b:>10.4f} {(a - b) * 1e3:>9.2f}")
        mt, mb = statistics.median(tool), statistics.median(bare)
        print(
            f"{model:<10} median of rounds: cnnbench {mt:.4f} ms, bare {mb:.4f} ms, "
            f"overhead {(mt - mb) * 1e3:+.2f} us per call ({(mt / mb - 1) * 100:+.2f} %)"
        )


if __name__ == "__main__":
    main()
