"""Shared test data: records from seeded synthetic samples, quick specs, fixed peaks."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.measure.records import Environment
from cnnbench.measure.stats import summarize
from cnnbench.results.effective import Effective
from cnnbench.results.profile import Profile
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import Cost, LayerRecord
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.system.fingerprint import collect, software_versions

MACHINE = {"id": "m0000000000000001", "cpu_model": "Test CPU", "logical_cores": 2}
QUICK = Budget(seconds=0.2, min_samples=4, warmup_max_s=0.1)
PEAKS = [
    {
        "kind": "compute",
        "precision": "fp32",
        "value": 100.0,
        "unit": "GFLOP/s",
        "threads": 2,
        "method": "torch.mm 2048x2048",
    },
    {
        "kind": "memory",
        "precision": "-",
        "value": 20.0,
        "unit": "GB/s",
        "threads": 2,
        "method": "copy of 512 MiB",
    },
]


def this_machine() -> Environment:
    """The real fingerprint and versions of this machine, as a run would record them."""
    return Environment(collect(), software_versions())


def quick_spec(**target: object) -> RunSpec:
    """tinynet at 32x32 on torch with a short budget; ``target`` sets the Target's fields."""
    return RunSpec(ModelRef("tinynet"), (3, 32, 32), 1, Target("torch", **target), budget=QUICK)  # type: ignore[arg-type]


def make_record(
    model: str = "tinynet", status: str = "ok", seed: int = 0, batch: int = 1
) -> ResultRecord:
    spec = RunSpec(ModelRef(model), (3, 32, 32), batch, Target("torch", threads=1))
    if status != "ok":
        return ResultRecord(spec=spec, status=status, error="boom", machine=MACHINE, software={})
    samples = tuple(float(x) for x in np.random.default_rng(seed).lognormal(0, 0.1, 50))
    stats = summarize(samples)
    return ResultRecord(
        spec=spec,
        status="ok",
        machine=MACHINE,
        software={"torch": "2.13.0"},
        latency_ms=stats,
        throughput_ips=batch / (stats.median / 1e3),
        samples_ms=samples,
        effective=Effective(precision="fp32", threads=1, details={"mode": "eager"}),
        cost=Cost("test", per="image", macs=1000, flops=2000, params=10),
    )


def make_profile_record(seed: int = 0) -> ResultRecord:
    """An ok record of mode profile: three layers (one fused, one without a FLOPs count)."""
    base = make_record(seed=seed)
    spec = RunSpec(
        ModelRef("tinynet"), (3, 32, 32), 1, Target("openvino", threads=1), mode="profile"
    )
    layers = (
        LayerRecord(
            "conv1", "fused(conv+activation)", ("/c/Conv", "/r/Relu"), 0.5, 5, "jit", 10, 20, 99
        ),
        LayerRecord("pool", "pool", ("/p/MaxPool",), 0.1, 5, "ref", None, 4, 12),
        LayerRecord("reorder", "reshape", (), 0.05, 5),
    )
    profile = Profile(
        profiler="openvino PERF_COUNT (per executed node)",
        calls=5,
        end_to_end_ms=base.latency_ms.median if base.latency_ms else 1.0,
        layers_ms=0.65,
        profiled_end_to_end_ms=1.2,
        batchnorm="folded",
        notes=("a note",),
    )
    return replace(base, spec=spec, layers=layers, profile=profile)


def store_snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a store file: what a refused write must leave unchanged."""
    conn = sqlite3.connect(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()
