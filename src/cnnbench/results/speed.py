"""Speed sections: latency statistics, the throughput sweep, requests in flight (streams)."""

from __future__ import annotations

from dataclasses import dataclass

from cnnbench.results._json import Fields, JsonDict, drop_none

# The statuses of a record, and of each batch of a throughput sweep (a sweep point is a record).
STATUSES = ("ok", "failed", "oom", "timeout", "crashed", "unsupported")


@dataclass(frozen=True)
class LatencyStats:
    """Statistics of one series of latency samples, in milliseconds (``latency_ms``)."""

    mean: float
    median: float
    p90: float
    p99: float
    min: float
    max: float
    std: float
    cv: float
    ci95: tuple[float, float]
    n: int

    def to_json(self) -> JsonDict:
        return {
            "mean": self.mean,
            "median": self.median,
            "p90": self.p90,
            "p99": self.p99,
            "min": self.min,
            "max": self.max,
            "std": self.std,
            "cv": self.cv,
            "ci95": [self.ci95[0], self.ci95[1]],
            "n": self.n,
        }

    @classmethod
    def from_json(cls, d: object, where: str = "latency_ms") -> LatencyStats:
        f = Fields(d, where)
        if f.number("median") <= 0:  # every call takes time; tables divide by the median
            raise f.fail("median", "a positive number of milliseconds")
        return cls(
            mean=f.number("mean", minimum=0),
            median=f.number("median"),
            p90=f.number("p90", minimum=0),
            p99=f.number("p99", minimum=0),
            min=f.number("min", minimum=0),
            max=f.number("max", minimum=0),
            std=f.number("std", minimum=0),
            cv=f.number("cv", minimum=0),
            ci95=f.pair("ci95"),
            n=f.integer("n", minimum=0),
        )

    @property
    def rel_half_width(self) -> float | None:
        """The larger distance from the median to a CI95 bound, relative to the median."""
        if self.median <= 0:
            return None
        return max(self.median - self.ci95[0], self.ci95[1] - self.median) / self.median


@dataclass(frozen=True)
class SweepPoint:
    """One batch of a throughput sweep: its status and, when it ran, its speed."""

    batch: int
    status: str
    median_ms: float | None = None
    ci95_ms: tuple[float, float] | None = None
    images_per_s: float | None = None
    n: int | None = None
    error: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "batch": self.batch,
                "status": self.status,
                "median_ms": self.median_ms,
                "ci95_ms": list(self.ci95_ms) if self.ci95_ms is not None else None,
                "images_per_s": self.images_per_s,
                "n": self.n,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, f: Fields) -> SweepPoint:
        status = f.string("status")
        if status not in STATUSES:
            raise f.fail("status", f"one of {', '.join(STATUSES)}")
        return cls(
            batch=f.integer("batch", minimum=1),
            status=status,
            median_ms=f.opt_number("median_ms", minimum=0),
            ci95_ms=f.pair("ci95_ms") if f.has("ci95_ms") else None,
            images_per_s=f.opt_number("images_per_s", minimum=0),
            n=f.opt_integer("n", minimum=0),
            error=f.opt_string("error"),
        )


@dataclass(frozen=True)
class Throughput:
    """A throughput sweep: the points measured, the best batch, how and why it stopped."""

    method: str
    stop: str
    sweep: tuple[SweepPoint, ...] = ()
    best_batch: int | None = None

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "method": self.method,
                "stop": self.stop,
                "sweep": [p.to_json() for p in self.sweep],
                "best_batch": self.best_batch,
            }
        )

    @classmethod
    def from_json(cls, d: object, where: str = "throughput") -> Throughput:
        f = Fields(d, where)
        return cls(
            method=f.string("method"),
            stop=f.string("stop"),
            sweep=tuple(SweepPoint.from_json(p) for p in f.objects("sweep")),
            best_batch=f.opt_integer("best_batch", minimum=1),
        )


@dataclass(frozen=True)
class Streams:
    """Several requests in flight for a fixed time: what completed and the images/s."""

    method: str
    requests_in_flight: int
    completed: int
    seconds: float
    images_per_s: float

    def to_json(self) -> JsonDict:
        return {
            "method": self.method,
            "requests_in_flight": self.requests_in_flight,
            "completed": self.completed,
            "seconds": self.seconds,
            "images_per_s": self.images_per_s,
        }

    @classmethod
    def from_json(cls, d: object, where: str = "streams") -> Streams:
        f = Fields(d, where)
        return cls(
            method=f.string("method"),
            requests_in_flight=f.integer("requests_in_flight", minimum=1),
            completed=f.integer("completed", minimum=0),
            seconds=f.number("seconds"),
            images_per_s=f.number("images_per_s"),
        )
