"""The worker's result: the typed contract between the child process and the parent.

:mod:`cnnbench.measure.job` builds a :class:`WorkerResult` inside the worker and returns its
``to_json()``; :mod:`cnnbench.measure.worker` writes it (adding ``affinity``, or writing the
status, error and traceback of an exception instead); the parent reads it back with
:meth:`WorkerResult.from_json` and merges rounds into a record (:mod:`cnnbench.measure.records`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnbench.results._json import Fields, JsonDict, drop_none
from cnnbench.results.effective import Effective
from cnnbench.results.loadgen import LoadgenResult
from cnnbench.results.meters import ProbeReading
from cnnbench.results.profile import Profile
from cnnbench.results.rounds import Warmup
from cnnbench.results.sections import Agreement, Cost, LayerRecord
from cnnbench.results.speed import Streams

NOT_COSTED = "the worker ended before the cost model ran"


@dataclass(frozen=True)
class WorkerResult:
    """One worker round: raw samples (ns), how the timing went, and what the engine used."""

    status: str = "ok"
    error: str | None = None
    traceback: str | None = None
    samples_ns: tuple[int, ...] = ()
    warmup: Warmup | None = None
    stop_reason: str | None = None
    rel_half_width: float | None = None
    prepare_s: float | None = None
    streams: Streams | None = None
    effective: Effective = field(default_factory=Effective)
    cost: Cost = field(default_factory=lambda: Cost.none(NOT_COSTED))
    agreement: Agreement | None = None
    engine_version: str | None = None
    affinity: tuple[int, ...] | None = None
    window_calls: int | None = None  # timed calls inside the probe window (no warm-up)
    probes: tuple[ProbeReading, ...] = ()
    layers: tuple[LayerRecord, ...] = ()
    profile: Profile | None = None  # mode profile: the summary of the layers' profile
    loadgen: LoadgenResult | None = None  # a LoadGen scenario's run

    def to_json(self) -> JsonDict:
        out = drop_none(
            {
                "status": self.status,
                "error": self.error,
                "traceback": self.traceback,
                "stop_reason": self.stop_reason,
                "rel_half_width": self.rel_half_width,
                "prepare_s": self.prepare_s,
                "engine_version": self.engine_version,
                "window_calls": self.window_calls,
                "warmup": self.warmup.to_json() if self.warmup else None,
                "streams": self.streams.to_json() if self.streams else None,
                "agreement": self.agreement.to_json() if self.agreement else None,
                "affinity": list(self.affinity) if self.affinity is not None else None,
                "profile": self.profile.to_json() if self.profile else None,
                "loadgen": self.loadgen.to_json() if self.loadgen else None,
            }
        )
        out.update(
            samples_ns=list(self.samples_ns),
            effective=self.effective.to_json(),
            cost=self.cost.to_json(),
            probes=[p.to_json() for p in self.probes],
            layers=[layer.to_json() for layer in self.layers],
        )
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "worker result") -> WorkerResult:
        f = Fields(d, where)
        warmup, streams = f.opt_fields("warmup"), f.opt_fields("streams")
        agreement, profile = f.opt_fields("agreement"), f.opt_fields("profile")
        agreement, loadgen = f.opt_fields("agreement"), f.opt_fields("loadgen")
        samples = f.integers("samples_ns")
        return cls(
            status=f.opt_string("status") or "ok",
            error=f.opt_string("error"),
            traceback=f.opt_string("traceback"),
            samples_ns=samples,
            warmup=Warmup.from_json(warmup.obj, warmup.where) if warmup else None,
            stop_reason=f.opt_string("stop_reason"),
            rel_half_width=f.opt_number("rel_half_width"),
            prepare_s=f.opt_number("prepare_s"),
            streams=Streams.from_json(streams.obj, streams.where) if streams else None,
            effective=Effective.from_json(f.mapping("effective"), f.path("effective")),
            cost=Cost.from_json(f.raw("cost"), f.path("cost")) if f.has("cost") else cls().cost,
            agreement=Agreement.from_json(agreement.obj, agreement.where) if agreement else None,
            engine_version=f.opt_string("engine_version"),
            affinity=f.integers("affinity") if f.has("affinity") else None,
            window_calls=f.opt_integer("window_calls", minimum=0),
            probes=tuple(ProbeReading.from_json(p.obj, p.where) for p in f.objects("probes")),
            layers=tuple(LayerRecord.from_json(x) for x in f.objects("layers")),
            profile=Profile.from_json(profile.obj, profile.where) if profile else None,
            loadgen=LoadgenResult.from_json(loadgen.obj, loadgen.where) if loadgen else None,
        )
