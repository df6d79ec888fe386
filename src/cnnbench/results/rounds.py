"""The ``timing`` section: how each worker round went (warm-up, stop, wall times, affinity).

A record of one round keeps the round's keys flat in ``timing`` (the layout since schema
``cnnbench.result/1`` began); a record of several interleaved rounds lists them under
``rounds`` with the spread of their medians.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbench.results._json import Fields, JsonDict, drop_none
from cnnbench.results.speed import Streams

ROUND_KEYS = (
    "warmup",
    "stop_reason",
    "rel_half_width",
    "prepare_s",
    "worker_wall_s",
    "started_s",
    "affinity",
    "median_ms",
    "n",
    "streams",
    "worker_start",
    "node",
)


@dataclass(frozen=True)
class Warmup:
    """The warm-up phase: calls made, seconds spent, and whether the per-call time settled."""

    calls: int
    seconds: float
    settled: bool

    def to_json(self) -> JsonDict:
        return {"calls": self.calls, "seconds": self.seconds, "settled": self.settled}

    @classmethod
    def from_json(cls, d: object, where: str = "warmup") -> Warmup:
        f = Fields(d, where)
        return cls(f.integer("calls", minimum=0), f.number("seconds"), f.boolean("settled"))


@dataclass(frozen=True)
class RoundTiming:
    """One worker round: its warm-up, why it stopped, its times (s) and the CPUs it ran on."""

    warmup: Warmup | None = None
    stop_reason: str | None = None  # "ci" | "budget" | "max_samples"
    rel_half_width: float | None = None  # CI95 half-width of the median / median
    prepare_s: float | None = None  # model build, export, engine preparation
    worker_wall_s: float | None = None  # the child process, start to end
    started_s: float | None = None  # wall-clock time (time.time()) the child started
    affinity: tuple[int, ...] | None = None
    median_ms: float | None = None
    n: int | None = None
    streams: Streams | None = None
    worker_start: str | None = None  # "template" (forked, pre-imported) or "cold (why)"
    node: str | None = None  # the fleet node it ran on (an executor's node id; None: here)

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "warmup": self.warmup.to_json() if self.warmup else None,
                "stop_reason": self.stop_reason,
                "rel_half_width": self.rel_half_width,
                "prepare_s": self.prepare_s,
                "worker_wall_s": self.worker_wall_s,
                "started_s": self.started_s,
                "affinity": list(self.affinity) if self.affinity is not None else None,
                "median_ms": self.median_ms,
                "n": self.n,
                "streams": self.streams.to_json() if self.streams else None,
                "worker_start": self.worker_start,
                "node": self.node,
            }
        )

    @classmethod
    def from_json(cls, f: Fields) -> RoundTiming:
        warmup = f.opt_fields("warmup")
        streams = f.opt_fields("streams")
        return cls(
            warmup=Warmup.from_json(warmup.obj, warmup.where) if warmup else None,
            stop_reason=f.opt_string("stop_reason"),
            rel_half_width=f.opt_number("rel_half_width"),
            prepare_s=f.opt_number("prepare_s"),
            worker_wall_s=f.opt_number("worker_wall_s"),
            started_s=f.opt_number("started_s"),
            affinity=f.integers("affinity") if f.has("affinity") else None,
            median_ms=f.opt_number("median_ms"),
            n=f.opt_integer("n", minimum=0),
            streams=Streams.from_json(streams.obj, streams.where) if streams else None,
            worker_start=f.opt_string("worker_start"),
            node=f.opt_string("node"),
        )


@dataclass(frozen=True)
class Timing:
    """Every round of a record, the CI95 half-width of the merged samples, the rounds' spread."""

    rounds: tuple[RoundTiming, ...] = ()
    rel_half_width: float | None = None
    round_spread: float | None = None  # max / min of the per-round medians, minus 1

    @property
    def prepare_s(self) -> float | None:
        """Preparation time of the first round."""
        return self.rounds[0].prepare_s if self.rounds else None

    def to_json(self) -> JsonDict:
        if self == Timing():
            return {}
        if len(self.rounds) == 1 and self.round_spread is None:
            (only,) = self.rounds
            if self.rel_half_width == only.rel_half_width:
                return only.to_json()  # the flat layout of a one-round record
        out: JsonDict = drop_none(
            {"rel_half_width": self.rel_half_width, "round_spread": self.round_spread}
        )
        out["rounds"] = [r.to_json() for r in self.rounds]
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "timing") -> Timing:
        f = Fields(d, where)
        if "rounds" in f.obj:
            return cls(
                rounds=tuple(RoundTiming.from_json(r) for r in f.objects("rounds")),
                rel_half_width=f.opt_number("rel_half_width"),
                round_spread=f.opt_number("round_spread"),
            )
        if not any(f.has(k) for k in ROUND_KEYS):
            return cls()
        only = RoundTiming.from_json(f)
        return cls(rounds=(only,), rel_half_width=only.rel_half_width)
