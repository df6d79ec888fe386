"""Records from worker outcomes: rounds merged, statistics, warnings (parent side)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cnnbench.errors import BadInput
from cnnbench.measure.agreement import drift_warning
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.phases import find_phases, phase_warning
from cnnbench.measure.probes.clock import clock_warnings
from cnnbench.measure.probes.load import load_warnings
from cnnbench.measure.stats import noise_warnings, relative_half_width, summarize
from cnnbench.results._json import JsonDict
from cnnbench.results.effective import Effective
from cnnbench.results.loadgen import LoadgenResult
from cnnbench.results.meters import WINDOW_SCOPE, Counters, Energy, ProbeReading
from cnnbench.results.profile import Profile
from cnnbench.results.record import ResultRecord
from cnnbench.results.rounds import RoundTiming, Timing
from cnnbench.results.sections import LayerRecord
from cnnbench.results.worker import WorkerResult
from cnnbench.spec import RunSpec

ROUND_SPREAD_WARN = 0.05  # per-round medians further apart than 5 % earn a warning


@dataclass(frozen=True)
class Environment:
    """What every record of one invocation shares: machine fingerprint and software versions."""

    machine: JsonDict
    software: JsonDict


def where_measured(outcomes: Sequence[WorkerOutcome], env: Environment) -> Environment:
    """The machine a record was measured on: the first round's node when a fleet executor
    said (every round of a record runs on one node), else this invocation's machine."""
    first = outcomes[0] if outcomes else None
    if first is None or first.machine is None:
        return env
    return Environment(first.machine, first.software or env.software)


def worker_result(outcome: WorkerOutcome) -> WorkerResult:
    """The typed result of one round. A round that left no result (timeout, crash) or an
    unreadable one is a result carrying the outcome's status and error."""
    if not outcome.result:
        return WorkerResult(status=outcome.status, error=outcome.error)
    try:
        return WorkerResult.from_json(outcome.result)
    except BadInput as exc:
        return WorkerResult(status="failed", error=f"unreadable worker result: {exc}")


def _round(outcome: WorkerOutcome, r: WorkerResult) -> RoundTiming:
    samples = r.samples_ns
    return RoundTiming(
        warmup=r.warmup,
        stop_reason=r.stop_reason,
        rel_half_width=r.rel_half_width,
        prepare_s=r.prepare_s,
        worker_wall_s=outcome.wall_s,
        started_s=outcome.started_s,
        affinity=r.affinity,
        median_ms=statistics.median(samples) / 1e6 if samples else None,
        n=len(samples) if samples else None,
        streams=r.streams,
        worker_start=outcome.start,
        node=outcome.node,
    )


def _software(env: Environment, spec: RunSpec, result: WorkerResult) -> JsonDict:
    software = dict(env.software)
    if result.engine_version:
        software[spec.target.engine] = result.engine_version
    return software


def _readings(
    outcomes: Sequence[WorkerOutcome], results: Sequence[WorkerResult]
) -> list[tuple[ProbeReading, int | None]]:
    """Every round's readings, each with the calls made in its window: the worker's own (the
    timed window), then its launcher probes' (the whole worker: calls unknown)."""
    out: list[tuple[ProbeReading, int | None]] = []
    for outcome, r in zip(outcomes, results, strict=True):
        out += [(_with_calls(p, r.window_calls), r.window_calls) for p in r.probes]
        for p in outcome.probe_readings:
            # A launcher limited to the timed window (perf's control fifo) saw its calls.
            timed = p.values.get("scope") == WINDOW_SCOPE and r.window_calls
            out.append((_with_calls(p, r.window_calls), r.window_calls) if timed else (p, None))
    return out


def _with_calls(p: ProbeReading, calls: int | None) -> ProbeReading:
    """A counters or load reading of the timed window, with the window's calls (per-inference
    counts: cache misses, page faults)."""
    if (p.kind != "counters" and p.probe != "load") or not calls or "inferences" in p.values:
        return p
    return replace(p, values={**p.values, "inferences": calls})


def isa_warning(
    effective: Effective, isa: str | None, layers: Sequence[LayerRecord] = ()
) -> str | None:
    """Nodes whose kernels stay above the ISA cap (the engine cannot cap their kind), and,
    when the run has a profile, the share of the profiled layer time they took."""
    if not effective.isa_exceptions:
        return None
    nodes = "; ".join(x.describe() for x in effective.isa_exceptions)
    cap = f"the {isa} cap" if isa else "the ISA cap"
    n = len(effective.isa_exceptions)
    text = f"isa: {n} node(s) run kernels above {cap}: {nodes}"
    total = sum(x.time_ms or 0.0 for x in layers)
    if total > 0:
        names = {x.node for x in effective.isa_exceptions}
        above = sum(x.time_ms or 0.0 for x in layers if x.name in names)
        text += f"; they take {above / total:.1%} of the profiled layer time"
    return text


def _profile(first: WorkerResult, median_ms: float) -> Profile | None:
    """The first round's profile (its layers are the record's), its overhead taken against
    the median over every round, the record's end-to-end latency."""
    if first.profile is None:
        return None
    return replace(first.profile, end_to_end_ms=median_ms)


def loadgen_figures(
    lg: LoadgenResult, fallback_ips: float, warnings: list[str]
) -> tuple[float, list[str]]:
    """A LoadGen run's samples/s (LoadGen's own rate where it gave one) and its warnings: its
    length is LoadGen's to choose, so no CI target applies; an INVALID verdict is a warning."""
    ips = lg.samples_per_s
    if ips is None and lg.qps is not None:
        ips = lg.qps * lg.settings.samples_per_query
    kept = [w for w in warnings if not w.startswith("ci:")]
    if not lg.valid:
        kept.append(f"loadgen: INVALID ({'; '.join(lg.reasons)})")
    return (ips if ips is not None else fallback_ips), kept


def merge_outcomes(
    spec: RunSpec, outcomes: Sequence[WorkerOutcome], env: Environment, planned_rounds: int = 1
) -> ResultRecord:
    """One record from one or more rounds of the same spec (any status); a failed round ends
    the spec's measurement, so ``outcomes`` may be shorter than ``planned_rounds``."""
    env = where_measured(outcomes, env)
    results = [worker_result(o) for o in outcomes]
    first = results[0]
    rounds = tuple(_round(o, r) for o, r in zip(outcomes, results, strict=True))
    windows = _readings(outcomes, results)
    readings = tuple(p for p, _ in windows)
    cost = next((r.cost for r in results if r.cost.available), first.cost)
    counters = Counters.from_readings(readings)
    bad = next((i for i, r in enumerate(results) if r.status != "ok"), None)
    if bad is not None:
        failed = results[bad]
        where = f" (round {bad + 1} of {planned_rounds})" if planned_rounds > 1 else ""
        energy = Energy.from_readings([], None)
        if any(p.kind == "energy" for p in readings):
            energy = Energy.none(f"the run ended with status {failed.status}")
        return ResultRecord(
            spec=spec,
            status=failed.status,
            error=(failed.error or "no error text") + where,
            machine=env.machine,
            software=_software(env, spec, first),
            effective=failed.effective if failed.effective != Effective() else first.effective,
            cost=cost,
            agreement=first.agreement,
            energy=energy,
            counters=counters,
            timing=Timing(rounds),
            probes=readings,
        )
    samples_ms = [s / 1e6 for r in results for s in r.samples_ns]
    stats = summarize(samples_ms)
    rel = relative_half_width(sorted(samples_ms))
    warnings = noise_warnings(samples_ms)
    for i, r in enumerate(results):
        if r.warmup is not None and not r.warmup.settled:
            warnings.append(
                f"warm-up: per-call time had not settled after {r.warmup.calls} calls"
                + (f" (round {i + 1})" if len(results) > 1 else "")
            )
    if rel > spec.budget.target_rel_ci:
        warnings.append(
            f"ci: CI95 of the median is +-{rel:.1%}, wider than the "
            f"+-{spec.budget.target_rel_ci:.1%} target (budget ended first)"
        )
    spread = None
    if len(rounds) > 1:
        medians = [r.median_ms for r in rounds if r.median_ms is not None]
        spread = max(medians) / min(medians) - 1
        if spread > ROUND_SPREAD_WARN:
            warnings.append(f"rounds: per-round medians differ by {spread:.1%}")
    else:
        rounds = (replace(rounds[0], rel_half_width=rel),)  # one round: the flat timing layout
    for extra in (
        phase_warning(find_phases(samples_ms), stats.median),
        drift_warning(first.agreement, spec.target.precision),
        isa_warning(first.effective, spec.target.isa, first.layers),
    ):
        if extra:
            warnings.append(extra)
    warnings += clock_warnings(readings)
    warnings += load_warnings(readings)
    throughput_ips = spec.batch / (stats.median / 1e3)
    streams = [r.streams for r in results if r.streams is not None]
    if streams:
        # Requests in flight: images/s is what completed over the wall time, not 1 / latency.
        images = sum(s.images_per_s * s.seconds for s in streams)
        throughput_ips = images / sum(s.seconds for s in streams)
    if first.loadgen is not None:
        throughput_ips, warnings = loadgen_figures(first.loadgen, throughput_ips, warnings)
    flops = cost.flops * spec.batch if cost.flops and not cost.lower_bound else None
    return ResultRecord(
        spec=spec,
        status="ok",
        machine=env.machine,
        software=_software(env, spec, first),
        effective=first.effective,
        latency_ms=stats,
        throughput_ips=throughput_ips,
        samples_ms=tuple(samples_ms),
        cost=cost,
        energy=Energy.from_readings(windows, flops, spec.batch),
        counters=counters,
        agreement=first.agreement,
        timing=Timing(rounds, rel_half_width=rel, round_spread=spread),
        probes=readings,
        layers=first.layers,
        profile=_profile(first, stats.median),
        warnings=tuple(warnings),
        loadgen=first.loadgen,
    )
