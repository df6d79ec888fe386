"""Records from worker outcomes: rounds merged, statistics, warnings (parent side)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cnnbench.measure.agreement import drift_warning
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.stats import noise_warnings, relative_half_width, summarize
from cnnbench.results.record import ResultRecord
from cnnbench.spec import RunSpec

ROUND_SPREAD_WARN = 0.05  # per-round medians further apart than 5 % earn a warning


@dataclass(frozen=True)
class Environment:
    """What every record of one invocation shares: machine fingerprint and software versions."""

    machine: dict[str, Any]
    software: dict[str, Any]


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
