"""What does the tool add to a call? ``cnnbench run``'s median against a bare loop.

Two comparisons per model. (1) In one process on one engine session, alternating blocks of
cnnbench's timing loop and a bare ``perf_counter_ns`` loop around the same call: what the loop
itself adds, free of process-to-process variation. (2) Rounds alternate (A B A B ...): A is a
full ``cnnbench run MODEL -e torch --threads 1`` (worker process, warm-up, adaptive stopping); B is
a fresh process with a bare loop around the same module call, same threads, same input. Both
report the median per-call time. Goal: the tool adds <= 2 us or <= 1 % per call.

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


IN_PROCESS = """
import json, time, numpy as np, torch
from cnnbench.engines import ModelInstance, get_engine
from cnnbench.measure.timing import time_calls
from cnnbench.models import create_model, get_model_info
from cnnbench.spec import Budget, Target
torch.set_num_threads(1)
torch.manual_seed(0)
name = {name!r}
if name == "null":
    import contextlib
    call, context = (lambda: None), contextlib.nullcontext()
else:
    shape = (1, *get_model_info(name).input_shape)
    session = get_engine("torch")().prepare(
        ModelInstance(name, create_model(name), shape), Target("torch", threads=1))
    x = session.make_inputs(np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    call, context = session.timed_call(x), session.context()
budget = Budget(seconds={block}, min_samples=10, target_rel_ci=1e-9, warmup_max_s=0.2)
tool, bare = [], []

def tool_block():
    tool.append(float(np.median(time_calls(call, budget).samples_ns)))

def bare_block():
    samples, clock = [], time.perf_counter_ns
    end = clock() + int({block} * 1e9)
    while clock() < end:
        t0 = clock(); call(); samples.append(clock() - t0)
    bare.append(float(np.median(samples)))

with context:
    for i in range({blocks}):  # A B, B A, A B, ...: neither side always goes first
        for block in ((tool_block, bare_block) if i % 2 == 0 else (bare_block, tool_block)):
            block()
print(json.dumps({{"tool_ns": tool, "bare_ns": bare}}))
"""


def in_process(model: str, blocks: int, block_s: float, env: dict[str, str]) -> None:
    """Same process, same session: alternate blocks of cnnbench's loop and a bare loop."""
    r = python_json(IN_PROCESS.format(name=model, blocks=blocks, block=block_s), env)
    tool, bare = statistics.median(r["tool_ns"]), statistics.median(r["bare_ns"])
    print(
        f"{model:<10} in one process, {blocks} alternating blocks: cnnbench loop "
        f"{tool / 1e3:.3f} us, bare loop {bare / 1e3:.3f} us, overhead "
        f"{(tool - bare) / 1e3:+.3f} us per call ({(tool / bare - 1) * 100:+.2f} %)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--budget", type=float, default=3.0)
    p.add_argument("--models", nargs="+", default=["tinynet", "resnet18"])
    p.add_argument("--blocks", type=int, default=10)
    args = p.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for model in ["null", *args.models]:
        in_process(model, args.blocks, 1.0, env)
    print(f"{'model':<10} {'round':>5} {'cnnbench ms':>12} {'bare ms':>10} {'diff us':>9}")
    for model in args.models if args.rounds else []:
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
