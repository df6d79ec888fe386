"""Result records built from seeded synthetic samples, for store and exchange tests."""

from __future__ import annotations

import numpy as np

from cnnbench.measure.stats import summarize
from cnnbench.results.effective import Effective
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import Cost
from cnnbench.spec import ModelRef, RunSpec, Target

MACHINE = {"id": "m0000000000000001", "cpu_model": "Test CPU", "logical_cores": 2}


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
