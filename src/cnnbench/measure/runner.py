"""Parent-side measurement: one spec in one worker, throughput batch sweeps, record building."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnbench.measure.isolation import WorkerOutcome, run_worker
from cnnbench.measure.stats import noise_warnings, summarize
from cnnbench.results import ResultRecord
from cnnbench.spec import RunSpec

MEASURE_ENTRY = "cnnbench.measure.job:run_measurement"
PLATEAU_GAIN = 0.03  # a larger batch must raise images/s by 3 % to count as growth
PLATEAU_STEPS = 2  # the sweep stops after this many batches without growth


@dataclass(frozen=True)
class Environment:
    """What every record of one invocation shares: machine fingerprint and software versions."""

    machine: dict[str, Any]
    software: dict[str, Any]


def default_timeout_s(spec: RunSpec) -> float:
    """Model build, warm-up, budget and summary, with a generous margin for slow networks."""
    return 120.0 + 4 * spec.budget.seconds


def run_one(spec: RunSpec, timeout_s: float | None = None) -> WorkerOutcome:
    t = spec.target
    return run_worker(
        MEASURE_ENTRY,
        {"spec": spec.to_dict()},
        timeout_s=timeout_s or default_timeout_s(spec),
        threads=t.threads,
        cores=t.cores,
        isa=t.isa,
    )


def _timing_info(outcome: WorkerOutcome) -> dict[str, Any]:
    r = outcome.result
    info: dict[str, Any] = {
        k: r[k] for k in ("warmup", "stop_reason", "rel_half_width", "prepare_s") if k in r
    }
    info["worker_wall_s"] = outcome.wall_s
    if "affinity" in r:
        info["affinity"] = r["affinity"]
    return info


def _warnings(outcome: WorkerOutcome, samples_ms: list[float], spec: RunSpec) -> list[str]:
    out = noise_warnings(samples_ms)
    warm = outcome.result.get("warmup") or {}
    if warm and not warm.get("settled", True):
        out.append(f"warm-up: per-call time had not settled after {warm.get('calls')} calls")
    rel = outcome.result.get("rel_half_width")
    if isinstance(rel, float) and rel > spec.budget.target_rel_ci:
        out.append(
            f"precision: CI95 of the median is +-{rel:.1%}, wider than the "
            f"+-{spec.budget.target_rel_ci:.1%} target (budget ended first)"
        )
    return out


def record_from_outcome(spec: RunSpec, outcome: WorkerOutcome, env: Environment) -> ResultRecord:
    """A result record for one latency measurement (any status)."""
    r = outcome.result
    software = dict(env.software)
    if r.get("engine_version"):
        software[spec.target.engine] = r["engine_version"]
    common: dict[str, Any] = {
        "spec": spec,
        "machine": env.machine,
        "software": software,
        "effective": r.get("effective") or {},
        "cost": r.get("cost"),
        "timing": _timing_info(outcome),
    }
    if outcome.status != "ok":
        error = outcome.error or "no error text"
        return ResultRecord(status=outcome.status, error=error, **common)
    samples_ms = [s / 1e6 for s in r["samples_ns"]]
    stats = summarize(samples_ms)
    return ResultRecord(
        status="ok",
        latency_ms=stats,
        throughput_ips=spec.batch / (stats.median / 1e3),
        samples_ms=tuple(samples_ms),
        warnings=tuple(_warnings(outcome, samples_ms, spec)),
        **common,
    )


def measure_latency(
    spec: RunSpec, env: Environment, timeout_s: float | None = None
) -> ResultRecord:
    return record_from_outcome(spec, run_one(spec, timeout_s), env)


def batch_ladder(max_batch: int) -> list[int]:
    """1, 2, 4, ... up to ``max_batch`` (which is included when it is not a power of two)."""
    out, b = [], 1
    while b < max_batch:
        out.append(b)
        b *= 2
    out.append(max_batch)
    return out


def measure_throughput(
    spec: RunSpec, env: Environment, timeout_s: float | None = None
) -> ResultRecord:
    """Batch sweep (seed 000's max throughput): each batch in its own worker, images/s from the
    median latency of a synchronous batched call. Stops when images/s has not grown by 3 % for
    two batches, or a batch fails (out of memory, say); ``spec.batch`` is the largest allowed.
    """
    sweep: list[dict[str, Any]] = []
    best: ResultRecord | None = None
    best_ips = 0.0
    stale = 0
    for b in batch_ladder(spec.batch):
        point_spec = RunSpec(spec.model, spec.input_shape, b, spec.target, "latency", spec.budget)
        rec = measure_latency(point_spec, env, timeout_s)
        point: dict[str, Any] = {"batch": b, "status": rec.status}
        if rec.status != "ok" or rec.latency_ms is None or rec.throughput_ips is None:
            point["error"] = rec.error
            sweep.append(point)
            break
        ips = rec.throughput_ips
        point.update(median_ms=rec.latency_ms.median, ci95_ms=list(rec.latency_ms.ci95))
        point.update(images_per_s=ips, n=rec.latency_ms.n)
        sweep.append(point)
        if ips > best_ips * (1 + PLATEAU_GAIN):
            stale = 0
        else:
            stale += 1
        if ips > best_ips:
            best, best_ips = rec, ips
        if stale >= PLATEAU_STEPS:
            break
    last = sweep[-1]
    stop = (
        f"batch {last['batch']} {last['status']}"
        if last["status"] != "ok"
        else ("plateau" if stale >= PLATEAU_STEPS else "max batch reached")
    )
    summary: dict[str, Any] = {"method": "synchronous batch sweep", "stop": stop, "sweep": sweep}
    if best is None:
        first = sweep[0]
        return ResultRecord(
            spec=spec,
            status=first["status"],
            error=first.get("error"),
            machine=env.machine,
            software=env.software,
            throughput=summary,
        )
    summary["best_batch"] = best.spec.batch
    return ResultRecord(
        spec=spec,
        status="ok",
        machine=env.machine,
        software=best.software,
        effective=best.effective,
        latency_ms=best.latency_ms,
        throughput_ips=best_ips,
        throughput=summary,
        samples_ms=best.samples_ms,
        cost=best.cost,
        timing=best.timing,
        warnings=best.warnings,
    )
