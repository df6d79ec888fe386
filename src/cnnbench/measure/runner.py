"""Parent-side measurement: specs in workers, interleaved rounds, throughput sweeps, records.

Specs that differ only in their target (the engines of one comparison) are measured
*interleaved*: round 1 runs A, B, C, round 2 runs A, B, C again, and so on, each round with a
share of the budget; every record merges its rounds' samples. A drift of the machine (another
job starting, thermal throttling) then spreads over all engines instead of favouring one.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cnnbench.measure.agreement import drift_warning
from cnnbench.measure.isolation import WorkerOutcome, run_worker
from cnnbench.measure.stats import noise_warnings, relative_half_width, summarize
from cnnbench.results import ResultRecord
from cnnbench.spec import Budget, RunSpec

MEASURE_ENTRY = "cnnbench.measure.job:run_measurement"
PLATEAU_GAIN = 0.03  # a larger batch must raise images/s by 3 % to count as growth
PLATEAU_STEPS = 2  # the sweep stops after this many batches without growth
ROUND_SPREAD_WARN = 0.05  # per-round medians further apart than 5 % earn a warning

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Environment:
    """What every record of one invocation shares: machine fingerprint and software versions."""

    machine: dict[str, Any]
    software: dict[str, Any]


def default_timeout_s(spec: RunSpec) -> float:
    """Model build, export, warm-up, budget and summary, with a margin for slow networks."""
    return 180.0 + 4 * spec.budget.seconds


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


def round_budget(budget: Budget, rounds: int) -> Budget:
    """One round's share of a budget."""
    if rounds == 1:
        return budget
    return replace(
        budget,
        seconds=budget.seconds / rounds,
        min_samples=max(1, math.ceil(budget.min_samples / rounds)),
        max_samples=max(1, math.ceil(budget.max_samples / rounds)),
        warmup_max_s=budget.warmup_limit_s / rounds,
    )


def _round_info(outcome: WorkerOutcome) -> dict[str, Any]:
    r = outcome.result
    info: dict[str, Any] = {
        k: r[k] for k in ("warmup", "stop_reason", "rel_half_width", "prepare_s") if k in r
    }
    info["worker_wall_s"] = outcome.wall_s
    if r.get("streams"):
        info["streams"] = r["streams"]
    info["started_s"] = outcome.started_s
    if "affinity" in r:
        info["affinity"] = r["affinity"]
    if r.get("samples_ns"):
        info["median_ms"] = statistics.median(r["samples_ns"]) / 1e6
        info["n"] = len(r["samples_ns"])
    return info


def _software(env: Environment, spec: RunSpec, result: dict[str, Any]) -> dict[str, Any]:
    software = dict(env.software)
    if result.get("engine_version"):
        software[spec.target.engine] = result["engine_version"]
    return software


def merge_outcomes(
    spec: RunSpec, outcomes: Sequence[WorkerOutcome], env: Environment, planned_rounds: int = 1
) -> ResultRecord:
    """One record from one or more rounds of the same spec (any status); a failed round ends
    the spec's measurement, so ``outcomes`` may be shorter than ``planned_rounds``."""
    first = outcomes[0]
    r = first.result
    rounds = [_round_info(o) for o in outcomes]
    timing: dict[str, Any] = dict(rounds[0]) if len(rounds) == 1 else {"rounds": rounds}
    common: dict[str, Any] = {
        "spec": spec,
        "machine": env.machine,
        "software": _software(env, spec, r),
        "effective": r.get("effective") or {},
        "cost": r.get("cost"),
        "agreement": r.get("agreement"),
    }
    bad = next((o for o in outcomes if o.status != "ok"), None)
    if bad is not None:
        where = (
            f" (round {outcomes.index(bad) + 1} of {planned_rounds})" if planned_rounds > 1 else ""
        )
        error = (bad.error or "no error text") + where
        common["effective"] = bad.result.get("effective") or common["effective"]
        return ResultRecord(status=bad.status, error=error, timing=timing, **common)
    samples_ms = [s / 1e6 for o in outcomes for s in o.result["samples_ns"]]
    stats = summarize(samples_ms)
    rel = relative_half_width(sorted(samples_ms))
    timing["rel_half_width"] = rel
    warnings = noise_warnings(samples_ms)
    for i, o in enumerate(outcomes):
        warm = o.result.get("warmup") or {}
        if warm and not warm.get("settled", True):
            warnings.append(
                f"warm-up: per-call time had not settled after {warm.get('calls')} calls"
                + (f" (round {i + 1})" if len(outcomes) > 1 else "")
            )
    if rel > spec.budget.target_rel_ci:
        warnings.append(
            f"precision: CI95 of the median is +-{rel:.1%}, wider than the "
            f"+-{spec.budget.target_rel_ci:.1%} target (budget ended first)"
        )
    if len(rounds) > 1:
        medians = [x["median_ms"] for x in rounds]
        spread = max(medians) / min(medians) - 1
        timing["round_spread"] = spread
        if spread > ROUND_SPREAD_WARN:
            warnings.append(f"rounds: per-round medians differ by {spread:.1%}")
    drift = drift_warning(common["agreement"], spec.target.precision)
    if drift:
        warnings.append(drift)
    throughput_ips = spec.batch / (stats.median / 1e3)
    streams = [o.result["streams"] for o in outcomes if o.result.get("streams")]
    if streams:
        # Requests in flight: images/s is what completed over the wall time, not 1 / latency.
        images = sum(s["images_per_s"] * s["seconds"] for s in streams)
        throughput_ips = images / sum(s["seconds"] for s in streams)
    return ResultRecord(
        status="ok",
        latency_ms=stats,
        throughput_ips=throughput_ips,
        samples_ms=tuple(samples_ms),
        warnings=tuple(warnings),
        timing=timing,
        **common,
    )


def record_from_outcome(spec: RunSpec, outcome: WorkerOutcome, env: Environment) -> ResultRecord:
    return merge_outcomes(spec, [outcome], env)


def measure_latency_group(
    specs: Sequence[RunSpec],
    env: Environment,
    *,
    rounds: int = 1,
    timeout_s: float | None = None,
    progress: Progress | None = None,
) -> list[ResultRecord]:
    """Latency of each spec, the specs interleaved over ``rounds`` rounds."""
    outcomes: list[list[WorkerOutcome]] = [[] for _ in specs]
    for r in range(rounds):
        for i, spec in enumerate(specs):
            if outcomes[i] and outcomes[i][-1].status != "ok":
                continue  # a failed configuration is not retried in later rounds
            if progress:
                progress(f"{spec.model.name} on {spec.target.engine}, round {r + 1}/{rounds}")
            run_spec = replace(spec, budget=round_budget(spec.budget, rounds))
            outcomes[i].append(run_one(run_spec, timeout_s))
    return [
        merge_outcomes(spec, outs, env, rounds) for spec, outs in zip(specs, outcomes, strict=True)
    ]


def batch_ladder(max_batch: int) -> list[int]:
    """1, 2, 4, ... up to ``max_batch`` (which is included when it is not a power of two)."""
    out, b = [], 1
    while b < max_batch:
        out.append(b)
        b *= 2
    out.append(max_batch)
    return out


@dataclass
class _Sweep:
    """The running state of one spec's batch sweep."""

    spec: RunSpec
    points: list[dict[str, Any]]
    best: ResultRecord | None = None
    best_ips: float = 0.0
    stale: int = 0
    stop: str | None = None

    def add(self, rec: ResultRecord) -> None:
        b = rec.spec.batch
        point: dict[str, Any] = {"batch": b, "status": rec.status}
        if rec.status != "ok" or rec.latency_ms is None or rec.throughput_ips is None:
            point["error"] = rec.error
            self.points.append(point)
            self.stop = f"batch {b} {rec.status}"
            return
        ips = rec.throughput_ips
        point.update(median_ms=rec.latency_ms.median, ci95_ms=list(rec.latency_ms.ci95))
        point.update(images_per_s=ips, n=rec.latency_ms.n)
        self.points.append(point)
        self.stale = 0 if ips > self.best_ips * (1 + PLATEAU_GAIN) else self.stale + 1
        if ips > self.best_ips:
            self.best, self.best_ips = rec, ips
        if self.stale >= PLATEAU_STEPS:
            self.stop = "plateau"

    def record(self, env: Environment) -> ResultRecord:
        summary: dict[str, Any] = {
            "method": "synchronous batch sweep",
            "stop": self.stop or "max batch reached",
            "sweep": self.points,
        }
        best = self.best
        if best is None:
            first = self.points[0]
            return ResultRecord(
                spec=self.spec,
                status=first["status"],
                error=first.get("error"),
                machine=env.machine,
                software=env.software,
                throughput=summary,
            )
        summary["best_batch"] = best.spec.batch
        return replace(best, spec=self.spec, throughput_ips=self.best_ips, throughput=summary)


def measure_throughput_group(
    specs: Sequence[RunSpec],
    env: Environment,
    *,
    timeout_s: float | None = None,
    progress: Progress | None = None,
) -> list[ResultRecord]:
    """Batch sweeps (seed 000's max throughput), interleaved across the specs batch by batch.

    Each batch point runs in its own worker; images/s = batch / median latency of a synchronous
    batched call. A spec's sweep stops when images/s has not grown by 3 % for two batches, or a
    batch fails (out of memory, say). ``spec.batch`` is the largest batch allowed.
    """
    sweeps = [_Sweep(spec, []) for spec in specs]
    for b in batch_ladder(max(s.batch for s in specs)):
        for sw in sweeps:
            if sw.stop is not None or b > sw.spec.batch:
                continue
            if progress:
                progress(f"{sw.spec.model.name} on {sw.spec.target.engine}, batch {b}")
            point = replace(sw.spec, batch=b, mode="latency")
            sw.add(merge_outcomes(point, [run_one(point, timeout_s)], env))
    return [sw.record(env) for sw in sweeps]
