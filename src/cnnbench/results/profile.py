"""A per-layer profile's summary (the record's ``profile`` section) and the time by layer type.

A record of mode ``profile`` holds the end-to-end latency timed without any profiler (its
``latency_ms``), the layers the engine's own profiler reported (its ``layers``) and this summary:

* ``layers_ms``: the sum of the layers' median times;
* ``overhead_ms`` = unprofiled end-to-end median minus ``layers_ms``: what no layer accounts for
  (framework dispatch, Python, layout conversions the profiler does not show). Negative when the
  profiled layer times add up to more than an unprofiled call: the profiler's own cost then
  exceeds the overhead, and the shares, not the sum, are what to read;
* ``profiled_end_to_end_ms``: the median wall time of a profiled call, so ``distortion`` (profiled
  over unprofiled, minus one) says how much the profiler itself slows the network down;
* ``batchnorm``: where BatchNorm went (folded before the engine ran, run as layers of its own,
  fused by the engine), so a BatchNorm share of zero is never mistaken for a measurement.

:func:`type_shares` aggregates layers by type: share of end-to-end time next to share of FLOPs,
as seed 000's Insight 1 compares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnbench.results._json import Fields, JsonDict, drop_none
from cnnbench.results.sections import LayerRecord

OVERHEAD = "overhead"  # the taxonomy's name for time no layer accounts for


@dataclass(frozen=True)
class Profile:
    """The summary of one profile: times in ms (medians), the profiler and what it cost."""

    profiler: str  # "torch.profiler", "onnxruntime profiler", "openvino PERF_COUNT", ...
    calls: int  # profiled calls
    end_to_end_ms: float  # the unprofiled median of the same worker's timed window
    layers_ms: float
    profiled_end_to_end_ms: float | None = None
    batchnorm: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def overhead_ms(self) -> float:
        return self.end_to_end_ms - self.layers_ms

    @property
    def overhead_share(self) -> float | None:
        return self.overhead_ms / self.end_to_end_ms if self.end_to_end_ms > 0 else None

    @property
    def distortion(self) -> float | None:
        """Profiled over unprofiled end-to-end time, minus one (0.25: 25 % slower)."""
        if self.profiled_end_to_end_ms is None or self.end_to_end_ms <= 0:
            return None
        return self.profiled_end_to_end_ms / self.end_to_end_ms - 1

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "profiler": self.profiler,
                "calls": self.calls,
                "end_to_end_ms": self.end_to_end_ms,
                "profiled_end_to_end_ms": self.profiled_end_to_end_ms,
                "layers_ms": self.layers_ms,
                "overhead_ms": self.overhead_ms,
                "overhead_share": self.overhead_share,
                "distortion": self.distortion,
                "batchnorm": self.batchnorm,
                "notes": list(self.notes),
            }
        )

    @classmethod
    def from_json(cls, d: object, where: str = "profile") -> Profile:
        """The section as written by :meth:`to_json`; the derived figures are recomputed."""
        f = Fields(d, where)
        return cls(
            profiler=f.string("profiler"),
            calls=f.integer("calls", minimum=1),
            end_to_end_ms=f.number("end_to_end_ms", minimum=0),
            layers_ms=f.number("layers_ms", minimum=0),
            profiled_end_to_end_ms=f.opt_number("profiled_end_to_end_ms", minimum=0),
            batchnorm=f.opt_string("batchnorm"),
            notes=f.strings("notes"),
        )


@dataclass(frozen=True)
class TypeShare:
    """One layer type's time next to its FLOPs.

    FLOPs shares are of the FLOPs of the layers the cost model counts: a layer with no count
    (one the engine inserted, a reorder, or an identity module outside the graph) adds to
    ``uncounted`` instead; a type none of whose layers has a count has ``flops`` None.
    """

    layer_type: str
    time_ms: float
    time_share: float | None
    flops: int | None
    flops_share: float | None
    layers: int
    uncounted: int = 0


def type_shares(layers: Sequence[LayerRecord], end_to_end_ms: float) -> list[TypeShare]:
    """Time and FLOPs per layer type, biggest time first, then the overhead (the end-to-end
    time no layer accounts for) as a type of its own; time shares are of the end-to-end time."""
    time_ms: dict[str, float] = {}
    flops: dict[str, int | None] = {}
    count: dict[str, int] = {}
    uncounted: dict[str, int] = {}
    for layer in layers:
        kind = layer.layer_type
        time_ms[kind] = time_ms.get(kind, 0.0) + (layer.time_ms or 0.0)
        count[kind] = count.get(kind, 0) + 1
        if layer.flops is None:
            uncounted[kind] = uncounted.get(kind, 0) + 1
            flops.setdefault(kind, None)
        else:
            flops[kind] = (flops.get(kind) or 0) + layer.flops
    total_flops = sum(v for v in flops.values() if v is not None)

    def share(part: float | None, whole: float | None) -> float | None:
        return None if part is None or not whole else part / whole

    out = [
        TypeShare(
            kind,
            t,
            share(t, end_to_end_ms),
            flops[kind],
            share(flops[kind], total_flops),
            count[kind],
            uncounted.get(kind, 0),
        )
        for kind, t in sorted(time_ms.items(), key=lambda kv: -kv[1])
    ]
    overhead = end_to_end_ms - sum(time_ms.values())
    out.append(TypeShare(OVERHEAD, overhead, share(overhead, end_to_end_ms), None, None, 0))
    return out
