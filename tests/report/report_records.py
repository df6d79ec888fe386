"""Records built directly for report tests (seeded samples; layers; throughput sweeps)."""

from __future__ import annotations

import numpy as np

from cnnbench.measure.stats import summarize
from cnnbench.results.effective import Effective
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import Cost, LayerRecord
from cnnbench.results.speed import SweepPoint, Throughput
from cnnbench.spec import ModelRef, RunSpec, Target

MACHINE = {"id": "m0000000000000001", "cpu_model": "Test CPU", "logical_cores": 2}


def samples(median_ms: float, seed: int, n: int = 200, sigma: float = 0.05) -> tuple[float, ...]:
    """Seeded lognormal samples whose population median is ``median_ms``."""
    rng = np.random.default_rng(seed)
    return tuple(float(x) for x in median_ms * rng.lognormal(0.0, sigma, n))


def latency_record(
    model: str,
    engine: str,
    median_ms: float,
    *,
    seed: int = 0,
    machine: dict[str, object] | None = None,
    layers: tuple[LayerRecord, ...] = (),
    created: str = "2026-01-01T00:00:00.000+00:00",
    threads: int = 1,
    warnings: tuple[str, ...] = (),
) -> ResultRecord:
    xs = samples(median_ms, seed)
    stats = summarize(xs)
    return ResultRecord(
        spec=RunSpec(ModelRef(model), (3, 32, 32), 1, Target(engine, threads=threads)),
        status="ok",
        machine=machine or MACHINE,
        software={engine: "1.0"},
        latency_ms=stats,
        throughput_ips=1e3 / stats.median,
        samples_ms=xs,
        effective=Effective(precision="fp32", threads=threads),
        cost=Cost("onnx", per="image", macs=1000, flops=2000, params=10, complete=True),
        layers=layers,
        warnings=warnings,
        created=created,
    )


def throughput_record(model: str, engine: str, per_image_ms: float, seed: int = 0) -> ResultRecord:
    """A sweep over batches 1, 2, 4 whose batch 8 ran out of memory; the best is batch 4."""
    points = []
    for b in (1, 2, 4):
        st = summarize(samples(per_image_ms * b * (1.2 if b < 4 else 1.0), seed + b))
        points.append(SweepPoint(b, "ok", st.median, st.ci95, b * 1e3 / st.median, st.n))
    points.append(SweepPoint(8, "oom", error="out of memory"))
    best = points[2]
    xs = samples(per_image_ms * 4, seed + 4)
    return ResultRecord(
        spec=RunSpec(ModelRef(model), (3, 32, 32), 8, Target(engine, threads=1), mode="throughput"),
        status="ok",
        machine=MACHINE,
        software={engine: "1.0"},
        latency_ms=summarize(xs),
        throughput_ips=best.images_per_s,
        throughput=Throughput("batch sweep", "failed point", tuple(points), best_batch=4),
        samples_ms=xs,
        effective=Effective(precision="fp32", threads=1),
    )


LAYERS = (
    LayerRecord("conv1", "conv", ("conv1",), time_ms=2.0, macs=900),
    LayerRecord("bn1", "batchnorm", ("bn1",), time_ms=1.0, macs=0),
    LayerRecord("relu1", "activation", ("relu1",), time_ms=0.5),
    LayerRecord("fc", "fc", ("fc",), time_ms=0.25, macs=100),
    LayerRecord("conv2+relu2", "fused(conv+activation)", ("conv2", "relu2"), time_ms=0.25),
    LayerRecord("overhead", "overhead", time_ms=1.0),
)
