"""How long does a sweep spend around each timed window? Today's path against this one.

Two drivers, each one long-lived process that is one sweep (one fingerprint, one store, one
executor, a fresh export cache of its own): A runs the code of a baseline commit (``git archive``
of ``src/`` at ``--baseline``; the default is the commit before warm starts and cached costs),
B runs this checkout's code. Configuration i goes to A and to B in turn (A B, then B A, ...) so
that a drift of the machine hits both. Each driver times ``execute([spec], store, env,
executor)`` (the worker, the record, the store) and reads the record's timed window: the
warm-up plus the timed calls, over all rounds. Overhead per configuration = wall - window; it
splits into the worker's part (worker wall - window) and the parent's (wall - worker wall).
Goal: B's median overhead <= 1.5 s on 20 tiny configurations.

    python bench/sweep.py [--configs 20] [--budget 0.3] [--baseline REF]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import ROOT

BASELINE = "a4c1e46"  # the main branch before issue 12's sweep throughput work
GOAL_S = 1.5

DRIVER = """
import json, sys, time
from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.run import execute
from cnnbench.measure.records import Environment
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions

env = Environment(collect(), software_versions())  # once per sweep
store = Store(sys.argv[1])
with LocalExecutor() as executor:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        c = json.loads(line)
        spec = RunSpec(ModelRef(c["model"]), tuple(c["shape"]), c["batch"],
                       Target(c["engine"], threads=c["threads"]), "latency",
                       Budget(seconds=c["budget"]))
        t0 = time.perf_counter()
        rec = execute([spec], store, env, executor=executor).records[0]
        wall = time.perf_counter() - t0
        rounds = rec.timing.rounds
        window = sum(r.warmup.seconds for r in rounds if r.warmup) + sum(rec.samples_ms) / 1e3
        print(json.dumps({
            "status": rec.status, "wall_s": wall, "window_s": window,
            "worker_wall_s": sum(r.worker_wall_s or 0.0 for r in rounds),
            "start": [getattr(r, "worker_start", None) for r in rounds],
        }), flush=True)
"""


def configurations(n: int, budget: float) -> list[dict[str, Any]]:
    """Tiny configurations in a study's order (the engine varies fastest)."""
    grid = itertools.product(((3, 32, 32), (3, 48, 48)), (1, 2), (1, 2))
    out = []
    for shape, batch, threads in grid:
        for engine in ("torch", "onnxruntime", "openvino"):
            out.append(
                {
                    "model": "tinynet",
                    "shape": list(shape),
                    "batch": batch,
                    "threads": threads,
                    "engine": engine,
                    "budget": budget,
                }
            )
    return (out * (n // len(out) + 1))[:n]


class Driver:
    """One sweep in its own process, fed one configuration at a time."""

    def __init__(self, name: str, src: Path, tmp: Path) -> None:
        self.name = name
        env = dict(os.environ, PYTHONPATH=str(src), CNNBENCH_CACHE=str(tmp / f"cache-{name}"))
        env.pop("CNNBENCH_WORKER_START", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(tmp / f"{name}.db")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp,
        )
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"driver {self.name} ended early (exit {self.proc.wait()})")
        return dict(json.loads(line))

    def run(self, config: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(config) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def baseline_src(ref: str, tmp: Path) -> Path:
    out = tmp / "baseline"
    out.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def summary(name: str, rows: list[dict[str, Any]]) -> float:
    over = [r["wall_s"] - r["window_s"] for r in rows]
    worker = [r["worker_wall_s"] - r["window_s"] for r in rows]
    parent = [r["wall_s"] - r["worker_wall_s"] for r in rows]
    med, median = statistics.median(over), statistics.median
    wall, window = median(r["wall_s"] for r in rows), median(r["window_s"] for r in rows)
    print(
        f"{name:<9} overhead per configuration: median {med:.2f} s "
        f"(worker {median(worker):.2f} s, parent {median(parent):.2f} s), "
        f"mean {statistics.mean(over):.2f} s, first {over[0]:.2f} s, max {max(over):.2f} s; "
        f"median wall {wall:.2f} s, median window {window * 1e3:.0f} ms"
    )
    return med


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", type=int, default=20)
    p.add_argument("--budget", type=float, default=0.3)
    p.add_argument("--baseline", default=BASELINE, help="git ref of today's path")
    args = p.parse_args()
    configs = configurations(args.configs, args.budget)
    rows: dict[str, list[dict[str, Any]]] = {"baseline": [], "this": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        drivers = {
            "baseline": Driver("baseline", baseline_src(args.baseline, tmp), tmp),
            "this": Driver("this", ROOT / "src", tmp),
        }
        print(
            f"{'#':>3} {'configuration':<34} {'baseline s':>10} {'this s':>8} {'start (this)':<12}"
        )
        try:
            for i, config in enumerate(configs):
                order = ("baseline", "this") if i % 2 == 0 else ("this", "baseline")
                got = {name: drivers[name].run(config) for name in order}
                for name in rows:
                    rows[name].append(got[name])
                label = (
                    f"{config['engine']} t{config['threads']} b{config['batch']} "
                    f"{'x'.join(map(str, config['shape']))}"
                )
                a, b = got["baseline"], got["this"]
                print(
                    f"{i:>3} {label:<34} {a['wall_s'] - a['window_s']:>10.2f} "
                    f"{b['wall_s'] - b['window_s']:>8.2f} {(b['start'] or ['?'])[0]!s:<12}"
                    + (
                        ""
                        if a["status"] == b["status"] == "ok"
                        else f" {a['status']}/{b['status']}"
                    )
                )
        finally:
            for d in drivers.values():
                d.close()
    base = summary("baseline", rows["baseline"])
    this = summary("this", rows["this"])
    verdict = "meets" if this <= GOAL_S else "misses"
    print(
        f"median overhead this / baseline = {this / base:.3f} ({base / this:.1f}x less); "
        f"this {verdict} the {GOAL_S} s goal"
    )


if __name__ == "__main__":
    main()
