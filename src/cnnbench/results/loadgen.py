"""The ``loadgen`` section of a record: one MLPerf LoadGen run, as LoadGen itself judged it.

Figures here are LoadGen's (its clock, from a query's scheduled issue to its completion, and its
verdict), read from its detail log in the worker; the log files themselves are summarised and
deleted. What cnnbench chose for a setting the user left open says so in its ``*_source``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnbench.results._json import Fields, JsonDict, drop_none, is_number

VERDICTS = ("VALID", "INVALID")


def _ms_map(f: Fields, key: str) -> dict[str, float]:
    """An object of latencies in ms (``p90``, ``mean``, ...), each a finite number >= 0."""
    value = f.mapping(key)
    for name, ms in value.items():
        if not is_number(ms) or ms < 0:
            raise f.fail(f"{key}.{name}", "a number of milliseconds >= 0")
    return {k: float(v) for k, v in value.items()}


@dataclass(frozen=True)
class Calibration:
    """The short measurement the worker made before LoadGen, to choose open settings."""

    method: str
    median_ms: float  # one request (a batch), in flight alone or among the others
    samples_per_s: float
    requests: int
    seconds: float

    def to_json(self) -> JsonDict:
        return {
            "method": self.method,
            "median_ms": self.median_ms,
            "samples_per_s": self.samples_per_s,
            "requests": self.requests,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, f: Fields) -> Calibration:
        return cls(
            method=f.string("method"),
            median_ms=f.number("median_ms", minimum=0),
            samples_per_s=f.number("samples_per_s", minimum=0),
            requests=f.integer("requests", minimum=0),
            seconds=f.number("seconds", minimum=0),
        )


@dataclass(frozen=True)
class LoadgenUsed:
    """What LoadGen was given; ``*_source`` is ``user`` or how cnnbench chose the value."""

    test_mode: str  # PerformanceOnly | FindPeakPerformance
    percentile: float
    min_duration_s: float
    max_duration_s: float
    min_queries: int
    samples_per_query: int
    performance_sample_count: int
    dispatch: str  # how the SUT runs the session
    target_qps: float | None = None
    target_qps_source: str | None = None
    latency_bound_ms: float | None = None
    latency_bound_source: str | None = None
    expected_latency_ms: float | None = None  # SingleStream / MultiStream
    expected_latency_source: str | None = None
    calibration: Calibration | None = None

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "test_mode": self.test_mode,
                "percentile": self.percentile,
                "min_duration_s": self.min_duration_s,
                "max_duration_s": self.max_duration_s,
                "min_queries": self.min_queries,
                "samples_per_query": self.samples_per_query,
                "performance_sample_count": self.performance_sample_count,
                "dispatch": self.dispatch,
                "target_qps": self.target_qps,
                "target_qps_source": self.target_qps_source,
                "latency_bound_ms": self.latency_bound_ms,
                "latency_bound_source": self.latency_bound_source,
                "expected_latency_ms": self.expected_latency_ms,
                "expected_latency_source": self.expected_latency_source,
                "calibration": self.calibration.to_json() if self.calibration else None,
            }
        )

    @classmethod
    def from_json(cls, f: Fields) -> LoadgenUsed:
        cal = f.opt_fields("calibration")
        return cls(
            test_mode=f.name("test_mode"),
            percentile=f.number("percentile", minimum=0),
            min_duration_s=f.number("min_duration_s", minimum=0),
            max_duration_s=f.number("max_duration_s", minimum=0),
            min_queries=f.integer("min_queries", minimum=1),
            samples_per_query=f.integer("samples_per_query", minimum=1),
            performance_sample_count=f.integer("performance_sample_count", minimum=1),
            dispatch=f.name("dispatch"),
            target_qps=f.opt_number("target_qps", minimum=0),
            target_qps_source=f.opt_string("target_qps_source"),
            latency_bound_ms=f.opt_number("latency_bound_ms", minimum=0),
            latency_bound_source=f.opt_string("latency_bound_source"),
            expected_latency_ms=f.opt_number("expected_latency_ms", minimum=0),
            expected_latency_source=f.opt_string("expected_latency_source"),
            calibration=Calibration.from_json(cal) if cal else None,
        )


@dataclass(frozen=True)
class LoadgenLog:
    """LoadGen's log files, summarised in the worker before the folder was deleted."""

    files: dict[str, int]  # name -> bytes
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()  # LoadGen's generic messages (how the run ended, the search)
    kept: bool = False

    def to_json(self) -> JsonDict:
        return {
            "files": dict(self.files),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "messages": list(self.messages),
            "kept": self.kept,
        }

    @classmethod
    def from_json(cls, f: Fields) -> LoadgenLog:
        return cls(
            files=f.counts("files"),
            errors=f.strings("errors"),
            warnings=f.strings("warnings"),
            messages=f.strings("messages"),
            kept=f.boolean("kept"),
        )


@dataclass(frozen=True)
class LoadgenResult:
    """One LoadGen run: its verdict and the reasons, its latencies and rates."""

    source: str  # "mlperf_loadgen X.Y.Z"
    scenario: str
    settings: LoadgenUsed
    verdict: str  # VALID | INVALID
    reasons: tuple[str, ...]  # why INVALID, in LoadGen's words where it gave them
    query_count: int
    latency_ms: dict[str, float]  # LoadGen's per-sample latency: min, mean, max, p50 ... p99.9
    min_duration_met: bool | None = None
    min_queries_met: bool | None = None
    early_stopping_met: bool | None = None
    perf_constraints_met: bool | None = None  # Server: the latency bound at the percentile
    early_stopping_ms: float | None = None  # LoadGen's early-stopping estimate of the percentile
    early_stopping: str | None = None  # LoadGen's early-stopping text
    query_latency_ms: dict[str, float] = field(default_factory=dict)  # MultiStream, per query
    qps: float | None = None  # SingleStream / MultiStream queries/s (with LoadGen's overhead)
    samples_per_s: float | None = None  # Offline; Server: completed samples/s
    scheduled_samples_per_s: float | None = None  # Server
    overlatency_queries: int | None = None  # Server
    peak_qps: float | None = None  # FindPeakPerformance: the highest target QPS found valid
    log: LoadgenLog = field(default_factory=lambda: LoadgenLog({}))

    @property
    def valid(self) -> bool:
        return self.verdict == "VALID"

    def to_json(self) -> JsonDict:
        out = drop_none(
            {
                "source": self.source,
                "scenario": self.scenario,
                "verdict": self.verdict,
                "reasons": list(self.reasons),
                "query_count": self.query_count,
                "latency_ms": dict(self.latency_ms),
                "min_duration_met": self.min_duration_met,
                "min_queries_met": self.min_queries_met,
                "early_stopping_met": self.early_stopping_met,
                "perf_constraints_met": self.perf_constraints_met,
                "early_stopping_ms": self.early_stopping_ms,
                "early_stopping": self.early_stopping,
                "qps": self.qps,
                "samples_per_s": self.samples_per_s,
                "scheduled_samples_per_s": self.scheduled_samples_per_s,
                "overlatency_queries": self.overlatency_queries,
                "peak_qps": self.peak_qps,
            }
        )
        if self.query_latency_ms:
            out["query_latency_ms"] = dict(self.query_latency_ms)
        out["settings"] = self.settings.to_json()
        out["log"] = self.log.to_json()
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "loadgen") -> LoadgenResult:
        f = Fields(d, where)
        verdict = f.string("verdict")
        if verdict not in VERDICTS:
            raise f.fail("verdict", "VALID or INVALID")
        return cls(
            source=f.name("source"),
            scenario=f.name("scenario"),
            settings=LoadgenUsed.from_json(f.fields("settings")),
            verdict=verdict,
            reasons=f.strings("reasons"),
            query_count=f.integer("query_count", minimum=0),
            latency_ms=_ms_map(f, "latency_ms"),
            min_duration_met=f.opt_boolean("min_duration_met"),
            min_queries_met=f.opt_boolean("min_queries_met"),
            early_stopping_met=f.opt_boolean("early_stopping_met"),
            perf_constraints_met=f.opt_boolean("perf_constraints_met"),
            early_stopping_ms=f.opt_number("early_stopping_ms", minimum=0),
            early_stopping=f.opt_string("early_stopping"),
            query_latency_ms=_ms_map(f, "query_latency_ms"),
            qps=f.opt_number("qps", minimum=0),
            samples_per_s=f.opt_number("samples_per_s", minimum=0),
            scheduled_samples_per_s=f.opt_number("scheduled_samples_per_s", minimum=0),
            overlatency_queries=f.opt_integer("overlatency_queries", minimum=0),
            peak_qps=f.opt_number("peak_qps", minimum=0),
            log=LoadgenLog.from_json(f.fields("log")),
        )
