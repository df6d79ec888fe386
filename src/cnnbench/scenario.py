"""MLPerf LoadGen scenarios as a measurement mode: the frozen settings of one LoadGen run.

A run spec in mode ``loadgen`` carries a :class:`LoadgenSettings`: the scenario (SingleStream,
MultiStream, Server, Offline) and what shapes its traffic and verdict (Server's arrival rate
and latency bound, MultiStream's samples per query, FindPeakPerformance). These join the spec's
identity. The minimum duration and query count say how long LoadGen runs, like a budget: they
are kept in the spec (and the record) but not in its hash.

The defaults are short, for a small machine: a minimum of 1 s (LoadGen's own default is 10
minutes) and, as the minimum query count, the fewest queries LoadGen's early-stopping estimate
needs for the scenario's percentile (64 for p90, 662 for p99), so a healthy run can be VALID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.spec import FloatRange, IntRange

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
TARGET_QPS = FloatRange(0, 1e7)  # Server's arrival rate, Offline's expected samples/s
LATENCY_BOUND_MS = FloatRange(0, 3_600_000)  # Server's latency bound (one hour at most)
MIN_DURATION_S = FloatRange(0, 86_400)
MAX_DURATION_S = FloatRange(0, 7 * 86_400)
MIN_QUERIES = IntRange(1, 10_000_000)
SAMPLES_PER_QUERY = IntRange(1, 1024)

DEFAULT_MIN_DURATION_S = 1.0  # seconds, not LoadGen's 600: short enough for this machine
DEFAULT_MAX_DURATION_S = 120.0  # LoadGen ends a run here even if the minimum queries are not met
DEFAULT_SAMPLES_PER_QUERY = 8  # MultiStream, as MLPerf's
# The percentile each scenario judges (MLPerf's), and the fewest queries its early-stopping
# estimate needs (LoadGen says so in its summary when fewer were run).
PERCENTILE = {"SingleStream": 90.0, "MultiStream": 99.0, "Server": 99.0, "Offline": 90.0}
EARLY_STOPPING_MIN_QUERIES = {90.0: 64, 99.0: 662}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class LoadgenSettings:
    """One LoadGen run: the scenario and its settings (None: chosen in the worker from a short
    calibration of the session, and recorded with that source)."""

    scenario: str
    target_qps: float | None = None  # Server: Poisson arrival rate; Offline: expected samples/s
    latency_bound_ms: float | None = None  # Server only
    samples_per_query: int = DEFAULT_SAMPLES_PER_QUERY  # MultiStream only
    find_peak: bool = False  # Server only: LoadGen's FindPeakPerformance mode
    min_duration_s: float = DEFAULT_MIN_DURATION_S
    min_queries: int | None = None  # None: the scenario's early-stopping minimum
    max_duration_s: float = DEFAULT_MAX_DURATION_S

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise BadInput(
                f"unknown scenario {_show(self.scenario)}; choose one of {', '.join(SCENARIOS)}"
            )
        if self.target_qps is not None:
            object.__setattr__(self, "target_qps", TARGET_QPS.check(self.target_qps, "target QPS"))
            if self.scenario not in ("Server", "Offline"):
                raise BadInput(f"a target QPS applies to Server and Offline, not {self.scenario}")
        if self.latency_bound_ms is not None:
            bound = LATENCY_BOUND_MS.check(self.latency_bound_ms, "the latency bound in ms")
            object.__setattr__(self, "latency_bound_ms", bound)
            if self.scenario != "Server":
                raise BadInput(f"a latency bound applies to Server, not {self.scenario}")
        SAMPLES_PER_QUERY.check(self.samples_per_query, "samples per query")
        if self.samples_per_query != DEFAULT_SAMPLES_PER_QUERY and self.scenario != "MultiStream":
            raise BadInput(f"samples per query apply to MultiStream, not {self.scenario}")
        if not isinstance(self.find_peak, bool):
            raise BadInput(f"find_peak must be true or false, got {_show(self.find_peak)}")
        if self.find_peak and self.scenario != "Server":
            raise BadInput(f"FindPeakPerformance applies to Server, not {self.scenario}")
        duration = MIN_DURATION_S.check(self.min_duration_s, "the minimum duration in seconds")
        object.__setattr__(self, "min_duration_s", duration)
        longest = MAX_DURATION_S.check(self.max_duration_s, "the maximum duration in seconds")
        object.__setattr__(self, "max_duration_s", longest)
        if longest < duration:
            raise BadInput("the maximum duration is below the minimum duration")
        if self.min_queries is not None:
            MIN_QUERIES.check(self.min_queries, "the minimum query count")

    @property
    def percentile(self) -> float:
        return PERCENTILE[self.scenario]

    @property
    def effective_min_queries(self) -> int:
        """The minimum query count LoadGen is given (Offline: one query holds every sample)."""
        if self.min_queries is not None:
            return self.min_queries
        if self.scenario == "Offline":
            return 1
        return EARLY_STOPPING_MIN_QUERIES[self.percentile]

    def identity(self) -> dict[str, Any]:
        """What joins the spec's hash: the scenario and what shapes its traffic and verdict."""
        d: dict[str, Any] = {"scenario": self.scenario}
        if self.target_qps is not None:
            d["target_qps"] = self.target_qps
        if self.latency_bound_ms is not None:
            d["latency_bound_ms"] = self.latency_bound_ms
        if self.scenario == "MultiStream":
            d["samples_per_query"] = self.samples_per_query
        if self.find_peak:
            d["find_peak"] = True
        return d

    def to_dict(self) -> dict[str, Any]:
        d = self.identity()
        d.update(
            min_duration_s=self.min_duration_s,
            min_queries=self.min_queries,
            max_duration_s=self.max_duration_s,
        )
        return d

    @classmethod
    def from_dict(cls, d: object) -> LoadgenSettings:
        if not isinstance(d, dict):
            raise BadInput(f"loadgen settings must be an object, got {_show(d)}")
        known = {
            "scenario",
            "target_qps",
            "latency_bound_ms",
            "samples_per_query",
            "find_peak",
            "min_duration_s",
            "min_queries",
            "max_duration_s",
        }
        for key in d:
            if key not in known:
                raise BadInput(f"loadgen.{key} is not a LoadGen setting")
        if "scenario" not in d:
            raise BadInput("loadgen settings need a scenario")
        return cls(
            scenario=d["scenario"],
            target_qps=d.get("target_qps"),
            latency_bound_ms=d.get("latency_bound_ms"),
            samples_per_query=d.get("samples_per_query", DEFAULT_SAMPLES_PER_QUERY),
            find_peak=d.get("find_peak", False),
            min_duration_s=d.get("min_duration_s", DEFAULT_MIN_DURATION_S),
            min_queries=d.get("min_queries"),
            max_duration_s=d.get("max_duration_s", DEFAULT_MAX_DURATION_S),
        )


def loadgen_missing() -> str | None:
    """Why LoadGen cannot be used here (its package does not import), or None."""
    try:
        import mlperf_loadgen  # noqa: F401
    except Exception as exc:  # ImportError, or a broken build failing in its initialiser
        return (
            "LoadGen scenarios need the loadgen extra: pip install 'cnnbench[loadgen]' "
            f"(mlcommons-loadgen; import mlperf_loadgen failed: {type(exc).__name__}: {exc})"
        )
    return None
