"""The parallel-modes tuner: streams x threads per stream x batch x requests in flight.

Seed 002's grid for any model and engine. A point is ``streams`` S (data parallelism),
``threads_per_stream`` T (model parallelism; the engine gets S x T threads in all), ``batch`` B
and ``requests`` R in flight. What a stream is depends on the engine: OpenVINO's streams are its
own executors (``NUM_STREAMS`` = S, ``INFERENCE_NUM_THREADS`` = S x T), and R may exceed S (two
requests per stream keep every stream busy while the other is handed back), so R is S or 2S;
torch and ONNX Runtime have one intra-op pool per process, a stream there is a thread making
synchronous requests on the one session, so R = S (more requests would be more streams).

Search: successive halving. Every grid point is measured on a short budget; the better
``1/eta`` survive (never fewer than ``finalists``) and are measured again on ``eta`` times the
budget, until ``finalists`` remain or the budget reaches the full one; the finalists are then
measured with the full budget, and the best of that last measurement wins (an early, noisy
figure never decides alone). A point that fails (``oom``, ``unsupported``, ``timeout``) is out,
and stays in ``evaluated`` with its status, as the paper's out-of-memory points.

Objectives: ``latency`` (lowest median request latency) or ``throughput`` (most images/s). The
Pareto front is over each point's latest measurement: no other point has both a lower latency
and more images/s.

The measurement is injected (:data:`Measure`): :func:`engine_measure` runs each evaluation in
its own isolated worker (forked from a pre-imported template); tests pass a function.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cnnbench.errors import BadInput

OBJECTIVES = ("latency", "throughput")
NATIVE_STREAMS = frozenset({"openvino"})  # engines whose streams are executors of their own
DEFAULT_BATCHES = (1, 2, 4, 8)


@dataclass(frozen=True, order=True)
class Point:
    """One parallel mode: streams, threads per stream, batch, requests in flight."""

    streams: int
    threads_per_stream: int
    batch: int
    requests: int

    @property
    def threads(self) -> int:
        return self.streams * self.threads_per_stream

    @property
    def label(self) -> str:
        return f"s{self.streams} t{self.threads_per_stream} b{self.batch} r{self.requests}"

    def to_json(self) -> dict[str, int]:
        return {
            "streams": self.streams,
            "threads_per_stream": self.threads_per_stream,
            "threads": self.threads,
            "batch": self.batch,
            "requests": self.requests,
        }


@dataclass(frozen=True)
class Evaluation:
    """One measurement of one point with one budget."""

    point: Point
    budget_s: float
    status: str  # ok | failed | oom | timeout | crashed | unsupported
    latency_ms: float | None = None  # median latency of a request (a batch of ``batch`` images)
    images_per_s: float | None = None
    error: str | None = None
    wall_s: float = 0.0  # the worker's wall time, start to end
    stage: str = "halving"  # "halving" (rung ``rung``) or "final" (the full budget)
    rung: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.latency_ms is not None and bool(self.images_per_s)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.point.to_json(), "budget_s": self.budget_s}
        out |= {"status": self.status, "stage": self.stage, "rung": self.rung}
        out |= {"latency_ms": self.latency_ms, "images_per_s": self.images_per_s}
        out["wall_s"] = self.wall_s
        if self.error:
            out["error"] = self.error
        return out


Measure = Callable[[Point, float], Evaluation]  # (point, budget in seconds) -> its evaluation


@dataclass(frozen=True)
class Tuning:
    """What a tuning found: the best point (None if every finalist failed), the front, all."""

    objective: str
    best: Evaluation | None
    pareto: tuple[Evaluation, ...]
    evaluated: tuple[Evaluation, ...]
    grid_size: int

    @property
    def measured_s(self) -> float:
        """Wall time of every worker of the tuning (the parent's own time is not in it)."""
        return sum(e.wall_s for e in self.evaluated)

    def latest(self) -> list[Evaluation]:
        """Each point's last evaluation (its largest budget), in grid order."""
        last: dict[Point, Evaluation] = {}
        for e in self.evaluated:
            last[e.point] = e
        return [last[p] for p in sorted(last)]

    def to_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "best": self.best.to_json() if self.best else None,
            "pareto": [e.to_json() for e in self.pareto],
            "evaluated": [e.to_json() for e in self.evaluated],
            "grid_size": self.grid_size,
            "measured_s": self.measured_s,
        }


def _powers_of_two(limit: int) -> list[int]:
    out, v = [], 1
    while v <= limit:
        out.append(v)
        v *= 2
    return out


def grid(
    engine: str, cores: int, batches: Sequence[int] = DEFAULT_BATCHES, *, max_threads: int = 0
) -> list[Point]:
    """Every point with S x T <= ``max_threads`` (default: ``cores``); S and T powers of two
    (and ``cores`` itself when it is not one)."""
    if cores < 1:
        raise BadInput(f"the core budget must be at least 1, got {cores}")
    if not batches or any(b < 1 for b in batches):
        raise BadInput(f"batches must be positive, got {list(batches)}")
    limit = max_threads or cores
    counts = sorted(set(_powers_of_two(limit)) | ({cores} if cores <= limit else set()))
    points = []
    for s in counts:
        for t in counts:
            if s * t > limit:
                continue
            for b in sorted(set(batches)):
                for r in (s, 2 * s) if engine in NATIVE_STREAMS else (s,):
                    points.append(Point(s, t, b, r))
    return points


def score(e: Evaluation, objective: str) -> float:
    """Higher is better; a failed evaluation scores minus infinity."""
    if not e.ok:
        return -math.inf
    assert e.latency_ms is not None and e.images_per_s is not None
    return -e.latency_ms if objective == "latency" else e.images_per_s


def pareto_front(evaluations: Sequence[Evaluation]) -> list[Evaluation]:
    """The ok evaluations that no other beats on both latency (lower) and images/s (higher),
    by latency."""
    ok = [e for e in evaluations if e.ok]
    front = []
    for e in ok:
        assert e.latency_ms is not None and e.images_per_s is not None
        dominated = any(
            o is not e
            and o.latency_ms is not None
            and o.images_per_s is not None
            and o.latency_ms <= e.latency_ms
            and o.images_per_s >= e.images_per_s
            and (o.latency_ms < e.latency_ms or o.images_per_s > e.images_per_s)
            for o in ok
        )
        if not dominated:
            front.append(e)
    return sorted(front, key=lambda e: (e.latency_ms, e.point))


def tune(
    points: Sequence[Point],
    measure: Measure,
    *,
    objective: str = "throughput",
    min_budget_s: float = 0.25,
    full_budget_s: float = 2.0,
    eta: int = 3,
    finalists: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Tuning:
    """Successive halving over ``points``, then the finalists with the full budget."""
    if objective not in OBJECTIVES:
        raise BadInput(f"unknown objective {objective!r}; choose {' or '.join(OBJECTIVES)}")
    if not points:
        raise BadInput("the grid is empty")
    if not 0 < min_budget_s <= full_budget_s:
        raise BadInput("the short budget must be positive and at most the full budget")
    if eta < 2 or finalists < 1:
        raise BadInput("eta must be at least 2 and finalists at least 1")
    evaluated: list[Evaluation] = []

    def run(point: Point, budget: float, stage: str, rung: int, of: str) -> Evaluation:
        if progress:
            progress(f"{stage} {of}: {point.label}, {budget:g} s")
        e = replace(measure(point, budget), stage=stage, rung=rung)
        evaluated.append(e)
        return e

    alive, budget, rung = list(dict.fromkeys(points)), min_budget_s, 0
    while len(alive) > finalists and budget < full_budget_s:
        done = [run(p, budget, "halving", rung, f"rung {rung}") for p in alive]
        ranked = sorted((e for e in done if e.ok), key=lambda e: -score(e, objective))
        alive = [e.point for e in ranked[: max(finalists, math.ceil(len(alive) / eta))]]
        budget, rung = min(budget * eta, full_budget_s), rung + 1
    final = [run(p, full_budget_s, "final", rung, "confirm") for p in alive]
    ok_final = [e for e in final if e.ok]
    best = max(ok_final, key=lambda e: score(e, objective)) if ok_final else None
    tuning = Tuning(objective, best, (), tuple(evaluated), len(points))
    return replace(tuning, pareto=tuple(pareto_front(tuning.latest())))


def exhaustive(
    points: Sequence[Point], measure: Measure, *, objective: str, budget_s: float
) -> Tuning:
    """Every point with the full budget (the reference the tuner is benchmarked against)."""
    done = [replace(measure(p, budget_s), stage="final") for p in points]
    ok = [e for e in done if e.ok]
    best = max(ok, key=lambda e: score(e, objective)) if ok else None
    return Tuning(objective, best, tuple(pareto_front(done)), tuple(done), len(points))


def engine_measure(
    model: str,
    input_shape: tuple[int, ...],
    engine: str,
    *,
    options: tuple[tuple[str, str], ...] = (),
    cores: tuple[int, ...] | None = None,
    timeout_s: float | None = None,
    pool: Any = None,
) -> Measure:
    """A :data:`Measure` that runs each evaluation in a fresh isolated worker (no cost model,
    no reference run: only the timing)."""
    from cnnbench.measure.launch import run_spec
    from cnnbench.measure.records import worker_result
    from cnnbench.spec import Budget, ModelRef, RunSpec, Target

    def measure(point: Point, budget_s: float) -> Evaluation:
        target = Target(
            engine,
            threads=point.threads,
            streams=point.streams,
            cores=cores,
            options=options,
        )
        # A short round ranks points; its warm-up is capped to its own scale (the full budget
        # keeps the usual warm-up limit).
        warmup_s = min(max(0.5, budget_s / 4), max(0.05, budget_s / 2))
        budget = Budget(seconds=budget_s, warmup_max_s=warmup_s)
        spec = RunSpec(ModelRef(model), input_shape, point.batch, target, "latency", budget)
        outcome = run_spec(
            spec, timeout_s, cost=False, agreement=False, pool=pool, requests=point.requests
        )
        r = worker_result(outcome)
        if r.status != "ok" or not r.samples_ns:
            error = r.error or outcome.error or "no samples"
            return Evaluation(point, budget_s, r.status, error=error, wall_s=outcome.wall_s)
        latency_ms = statistics.median(r.samples_ns) / 1e6
        ips = r.streams.images_per_s if r.streams else point.batch * 1e3 / latency_ms
        return Evaluation(point, budget_s, "ok", latency_ms, ips, wall_s=outcome.wall_s)

    return measure
