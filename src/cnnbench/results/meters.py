"""What probes saw: raw readings, and the record's ``energy`` and ``counters`` sections.

A :class:`ProbeReading` is what one probe reports over one window (the worker's timed window, or
the whole worker for a launcher probe). The record keeps every reading in ``probes`` and builds
``energy`` from the energy-kind reading and ``counters`` from the counters-kind reading, summed
over the record's rounds. Anything that cannot be had has ``source == "none"`` and a reason:
a meter that did not advance is not a zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cnnbench.errors import BadInput
from cnnbench.results._json import Fields, JsonDict, drop_none, is_number

KINDS = ("energy", "counters", "layers", "other")
NONE = "none"
Value = float | int | str | bool | None
NOT_REQUESTED_ENERGY = "no energy probe was requested for this run"
NOT_REQUESTED_COUNTERS = "no counter probe was requested for this run"
WINDOW_SCOPE = "timed window"  # a launcher reading's ``scope`` when it saw the timed calls only
UNCOUNTED = (
    "not supported",
    "not counted",
    "below noise",
)  # a counter value the machine could not give


@dataclass(frozen=True)
class ProbeReading:
    """What one probe saw over one window: named values (units in the names) and their source."""

    probe: str
    kind: str  # one of KINDS
    source: str  # "rapl", "nvml", "perf", "cachegrind (simulated)", "none", ...
    values: Mapping[str, Value] = field(default_factory=dict)
    reason: str | None = None  # why nothing was measured (source "none"), or a caveat
    window_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"probe kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.source == NONE and not self.reason:
            raise ValueError("a reading with source 'none' must say why")

    @classmethod
    def unavailable(cls, probe: str, kind: str, reason: str) -> ProbeReading:
        return cls(probe, kind, NONE, {}, reason)

    def to_json(self) -> JsonDict:
        return {
            "probe": self.probe,
            "kind": self.kind,
            "source": self.source,
            "values": dict(self.values),
            "reason": self.reason,
            "window_s": self.window_s,
        }

    @classmethod
    def from_json(cls, d: object, where: str = "probe") -> ProbeReading:
        f = Fields(d, where)
        kind = f.string("kind")
        if kind not in KINDS:
            raise f.fail("kind", f"one of {', '.join(KINDS)}")
        values = f.mapping("values")
        for name, value in values.items():
            if not (value is None or isinstance(value, str | bool) or is_number(value)):
                raise f.fail("values", f"scalars ({name!r} is not)")
        source = f.string("source")
        return cls(
            probe=f.string("probe"),
            kind=kind,
            source=source,
            values=values,
            reason=f.reason_for(source),
            window_s=f.opt_number("window_s"),
        )


def _number(reading: ProbeReading, name: str) -> float | None:
    value = reading.values.get(name)
    return float(value) if is_number(value) else None


@dataclass(frozen=True)
class Energy:
    """Energy over the probe windows, total and dynamic (idle power subtracted).

    ``j_per_inference`` is the total energy of the window over its calls (one call = one
    batch); ``dynamic_j_per_inference`` subtracts the idle baseline (idle W x window) when one
    was measured. ``images_per_j`` and ``gflop_per_j`` use the dynamic energy where known, else
    the total (``basis`` says which).
    """

    source: str  # "rapl" | "nvml" | "estimated" | "none"
    reason: str | None = None
    probe: str | None = None
    energy_j: float | None = None
    window_s: float | None = None
    inferences: int | None = None  # calls in the windows (no warm-up; repeats included)
    active_w: float | None = None
    idle_w: float | None = None
    j_per_inference: float | None = None
    dynamic_j_per_inference: float | None = None
    images_per_j: float | None = None
    gflop_per_j: float | None = None
    basis: str | None = None  # "dynamic" | "total": the energy the efficiencies divide by

    def __post_init__(self) -> None:
        if self.source == NONE and not self.reason:
            raise ValueError("an energy section with source 'none' must say why")

    @classmethod
    def none(cls, reason: str) -> Energy:
        return cls(source=NONE, reason=reason)

    @classmethod
    def from_readings(
        cls,
        readings: Sequence[tuple[ProbeReading, int | None]],
        flops_per_inference: float | None,
        images_per_inference: int = 1,
    ) -> Energy:
        """The section from energy readings, each with the inferences made in its window
        (``None`` when unknown, e.g. a launcher probe around the whole worker)."""
        energy = [(r, n) for r, n in readings if r.kind == "energy"]
        if not energy:
            return cls.none(NOT_REQUESTED_ENERGY)
        total_j = total_s = idle_j = 0.0
        calls: int | None = 0
        idle_known = True
        notes: list[str] = []
        for r, n in energy:
            joules, window = _number(r, "energy_j"), r.window_s or _number(r, "window_s")
            if r.source == NONE:
                return cls.none(f"{r.probe}: {r.reason}")
            if joules is None or window is None:
                return cls.none(f"{r.probe} reported no energy_j over a timed window")
            if joules <= 0:
                return cls.none(f"{r.probe}: the meter did not advance over the window")
            total_j, total_s = total_j + joules, total_s + window
            calls = None if calls is None or n is None else calls + n
            idle = _number(r, "idle_w")
            if idle is None:
                idle_known = False
            else:
                idle_j += idle * window
            if r.reason:
                notes.append(f"{r.probe}: {r.reason}")
        per = total_j / calls if calls else None
        dynamic = (total_j - idle_j) / calls if calls and idle_known else None
        if dynamic is not None and dynamic <= 0:
            notes.append("active power did not exceed idle power: no dynamic energy")
            dynamic = None
        basis_j = dynamic if dynamic is not None else per
        return cls(
            source=" + ".join(dict.fromkeys(r.source for r, _ in energy)),
            reason="; ".join(dict.fromkeys(notes)) or None,
            probe=" + ".join(dict.fromkeys(r.probe for r, _ in energy)),
            energy_j=total_j,
            window_s=total_s,
            inferences=calls,
            active_w=total_j / total_s if total_s > 0 else None,
            idle_w=idle_j / total_s if idle_known and total_s > 0 else None,
            j_per_inference=per,
            dynamic_j_per_inference=dynamic,
            images_per_j=images_per_inference / basis_j if basis_j else None,
            gflop_per_j=(
                flops_per_inference / basis_j / 1e9 if basis_j and flops_per_inference else None
            ),
            basis=None if basis_j is None else ("dynamic" if dynamic is not None else "total"),
        )

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "source": self.source,
                "reason": self.reason,
                "probe": self.probe,
                "energy_j": self.energy_j,
                "window_s": self.window_s,
                "inferences": self.inferences,
                "active_w": self.active_w,
                "idle_w": self.idle_w,
                "j_per_inference": self.j_per_inference,
                "dynamic_j_per_inference": self.dynamic_j_per_inference,
                "images_per_j": self.images_per_j,
                "gflop_per_j": self.gflop_per_j,
                "basis": self.basis,
            }
        )

    @classmethod
    def from_json(cls, d: object, where: str = "energy") -> Energy:
        f = Fields(d, where)
        source = f.string("source")
        return cls(
            source=source,
            reason=f.reason_for(source),
            probe=f.opt_string("probe"),
            energy_j=f.opt_number("energy_j"),
            window_s=f.opt_number("window_s"),
            inferences=f.opt_integer("inferences", minimum=0),
            active_w=f.opt_number("active_w"),
            idle_w=f.opt_number("idle_w"),
            j_per_inference=f.opt_number("j_per_inference"),
            dynamic_j_per_inference=f.opt_number("dynamic_j_per_inference"),
            images_per_j=f.opt_number("images_per_j"),
            gflop_per_j=f.opt_number("gflop_per_j"),
            basis=f.opt_string("basis"),
        )


@dataclass(frozen=True)
class Counters:
    """Hardware or simulated counter totals over the probe window(s), by counter name.

    ``per_inference`` divides each total by the calls its readings counted (a reading's
    ``inferences`` value: the differential's call difference, or the timed window's calls);
    it is empty when a reading did not say. ``unsupported`` names the events the machine lacks.
    """

    source: str  # "perf" | "cachegrind (simulated)" | "none" | ...
    reason: str | None = None
    probe: str | None = None
    counts: Mapping[str, float] = field(default_factory=dict)
    window_s: float | None = None
    per_inference: Mapping[str, float] = field(default_factory=dict)
    unsupported: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.source == NONE and not self.reason:
            raise ValueError("a counters section with source 'none' must say why")

    @classmethod
    def none(cls, reason: str) -> Counters:
        return cls(source=NONE, reason=reason)

    @classmethod
    def from_readings(cls, readings: Sequence[ProbeReading]) -> Counters:
        """The section from the counters readings of each round: numeric values summed."""
        found = [r for r in readings if r.kind == "counters"]
        if not found:
            return cls.none(NOT_REQUESTED_COUNTERS)
        counts: dict[str, float] = {}
        window: float | None = 0.0
        calls: float | None = 0.0
        unsupported: dict[str, None] = {}
        notes: list[str] = []
        for r in found:
            if r.source == NONE:
                return cls.none(f"{r.probe}: {r.reason}")
            for name, value in r.values.items():
                if name == "inferences":
                    continue
                if is_number(value):
                    counts[name] = counts.get(name, 0) + value
                elif value in UNCOUNTED:
                    unsupported[name] = None
            n = r.values.get("inferences")
            calls = calls + n if calls is not None and is_number(n) and n > 0 else None
            window = None if window is None or r.window_s is None else window + r.window_s
            if r.reason:
                notes.append(f"{r.probe}: {r.reason}")
        per = {k: v / calls for k, v in counts.items()} if calls else {}
        return cls(
            source=" + ".join(dict.fromkeys(r.source for r in found)),
            reason="; ".join(dict.fromkeys(notes)) or None,
            probe=" + ".join(dict.fromkeys(r.probe for r in found)),
            counts=counts,
            window_s=window,
            per_inference=per,
            unsupported=tuple(k for k in unsupported if k not in counts),
        )

    def to_json(self) -> JsonDict:
        out = drop_none(
            {
                "source": self.source,
                "reason": self.reason,
                "probe": self.probe,
                "window_s": self.window_s,
            }
        )
        if self.source != NONE:
            out["counts"] = dict(self.counts)
            if self.per_inference:
                out["per_inference"] = dict(self.per_inference)
            if self.unsupported:
                out["unsupported"] = list(self.unsupported)
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "counters") -> Counters:
        f = Fields(d, where)
        source = f.string("source")
        parts = {}
        for key in ("counts", "per_inference"):
            found = f.mapping(key) if f.has(key) else {}
            for name, value in found.items():
                if not is_number(value):
                    raise BadInput(f"{f.path(key)}.{name} must be a number, got {value!r}")
            parts[key] = dict(found)
        return cls(
            source=source,
            reason=f.reason_for(source),
            probe=f.opt_string("probe"),
            counts=parts["counts"],
            window_s=f.opt_number("window_s"),
            per_inference=parts["per_inference"],
            unsupported=f.strings("unsupported") if f.has("unsupported") else (),
        )
