"""Record sections about the network's work and output: cost, agreement, per-layer records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.results._json import Fields, JsonDict, drop_none

NONE = "none"  # the source of a figure that could not be had here
OVERHEAD = "overhead"  # the unattributed rest of end-to-end time, beside the layer taxonomy


@dataclass(frozen=True)
class Cost:
    """Per-image work of the network (``per == "image"``), from the graph cost model.

    A cost that could not be had has ``source == "none"`` and a ``reason``, never zeros.
    ``legacy`` keeps keys that older versions wrote (``crosscheck``: torch's own counter),
    verbatim, so an old record re-exported loses nothing.
    """

    source: str
    reason: str | None = None
    per: str | None = None
    macs: int | None = None
    flops: int | None = None  # 2 x macs
    flops_all_ops: int | None = None  # every op with a FLOP formula, not only MACs
    params: int | None = None
    weight_bytes: int | None = None  # all weights (not per image)
    activation_bytes: int | None = None
    layer_count: int | None = None  # JSON key "layers"
    uncounted: tuple[str, ...] = ()  # op types without a FLOP formula
    macs_by_type: Mapping[str, int] = field(default_factory=dict)
    # False: some node uncounted or some shape unknown, so macs/flops are lower bounds (None in
    # records made before the flag existed)
    complete: bool | None = None
    uncounted_nodes: int | None = None
    shapes: str | None = None  # "static", "executed (onnxruntime)" or "partial"
    legacy: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source == NONE and not self.reason:
            raise ValueError("a cost with source 'none' must say why")

    @property
    def lower_bound(self) -> bool:
        """The totals are lower bounds: no GFLOP/s, roofline or FLOP/J may be derived."""
        return self.complete is False

    @classmethod
    def none(cls, reason: str) -> Cost:
        return cls(source=NONE, reason=reason)

    @property
    def available(self) -> bool:
        return self.source != NONE

    def to_json(self) -> JsonDict:
        out = drop_none(
            {
                "source": self.source,
                "reason": self.reason,
                "per": self.per,
                "macs": self.macs,
                "flops": self.flops,
                "flops_all_ops": self.flops_all_ops,
                "params": self.params,
                "weight_bytes": self.weight_bytes,
                "activation_bytes": self.activation_bytes,
                "layers": self.layer_count,
                "complete": self.complete,
                "uncounted_nodes": self.uncounted_nodes,
                "shapes": self.shapes,
            }
        )
        if self.available and self.per is not None:
            out["uncounted"] = list(self.uncounted)
            out["macs_by_type"] = dict(self.macs_by_type)
        out.update(self.legacy)
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "cost") -> Cost:
        f = Fields(d, where)
        known = (
            "source",
            "reason",
            "per",
            "macs",
            "flops",
            "flops_all_ops",
            "params",
            "weight_bytes",
            "activation_bytes",
            "layers",
            "uncounted",
            "macs_by_type",
            "complete",
            "uncounted_nodes",
            "shapes",
        )
        source = f.string("source")
        return cls(
            source=source,
            reason=f.reason_for(source),
            per=f.opt_string("per"),
            macs=f.opt_integer("macs", minimum=0),
            flops=f.opt_integer("flops", minimum=0),
            flops_all_ops=f.opt_integer("flops_all_ops", minimum=0),
            params=f.opt_integer("params", minimum=0),
            weight_bytes=f.opt_integer("weight_bytes", minimum=0),
            activation_bytes=f.opt_integer("activation_bytes", minimum=0),
            layer_count=f.opt_integer("layers", minimum=0),
            uncounted=f.strings("uncounted"),
            macs_by_type=f.counts("macs_by_type"),
            complete=f.opt_boolean("complete"),
            uncounted_nodes=f.opt_integer("uncounted_nodes", minimum=0),
            shapes=f.opt_string("shapes"),
            legacy=f.rest(known),
        )


@dataclass(frozen=True)
class Agreement:
    """Does the engine compute what the reference computes? Errors over the batch's outputs.

    ``error`` says why no errors were computed (output shape differs, non-finite output).
    """

    reference: str
    tolerance_rel: float
    within_tolerance: bool
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    top1_agree: float | None = None  # share of the batch whose arg-max class agrees
    error: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "reference": self.reference,
                "tolerance_rel": self.tolerance_rel,
                "within_tolerance": self.within_tolerance,
                "max_abs_err": self.max_abs_err,
                "max_rel_err": self.max_rel_err,
                "top1_agree": self.top1_agree,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, d: object, where: str = "agreement") -> Agreement:
        f = Fields(d, where)
        out = cls(
            reference=f.string("reference"),
            tolerance_rel=f.number("tolerance_rel"),
            within_tolerance=f.boolean("within_tolerance"),
            max_abs_err=f.opt_number("max_abs_err"),
            max_rel_err=f.opt_number("max_rel_err"),
            top1_agree=f.opt_number("top1_agree"),
            error=f.opt_string("error"),
        )
        if out.error is None and out.max_rel_err is None:
            raise f.fail("max_rel_err", "a number when there is no 'error'")
        return out


def check_layer_type(name: str, where: str = "layer_type") -> str:
    from cnnbench.graph.taxonomy import LAYER_TYPES, is_layer_type

    if name != OVERHEAD and not is_layer_type(name):
        raise BadInput(
            f"{where} {name!r} is not a layer type of the taxonomy "
            f"({', '.join(LAYER_TYPES)}, fused(a+b), {OVERHEAD})"
        )
    return name


@dataclass(frozen=True)
class LayerRecord:
    """One layer of an engine's profile (or of the cost model), in the one layer vocabulary.

    ``source_layers`` are the source-graph nodes the engine's layer covers (several when it
    fused them, then ``layer_type`` is ``fused(...)``); ``time_ms`` is the mean time per call.
    """

    name: str
    layer_type: str  # a type of cnnbench.graph.taxonomy, fused(...), or "overhead"
    source_layers: tuple[str, ...] = ()
    time_ms: float | None = None
    calls: int | None = None
    kernel: str | None = None  # the engine's kernel or primitive name
    macs: int | None = None
    flops: int | None = None
    bytes: int | None = None  # weights and activations the layer reads and writes
    energy_j: float | None = None  # per call, from an isolated replay with an energy meter

    def __post_init__(self) -> None:
        check_layer_type(self.layer_type, f"layer {self.name!r}: type")

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "name": self.name,
                "layer_type": self.layer_type,
                "source_layers": list(self.source_layers),
                "time_ms": self.time_ms,
                "calls": self.calls,
                "kernel": self.kernel,
                "macs": self.macs,
                "flops": self.flops,
                "bytes": self.bytes,
                "energy_j": self.energy_j,
            }
        )

    @classmethod
    def from_json(cls, f: Fields) -> LayerRecord:
        return cls(
            name=f.string("name"),
            layer_type=check_layer_type(f.string("layer_type"), f.path("layer_type")),
            source_layers=f.strings("source_layers"),
            time_ms=f.opt_number("time_ms"),
            calls=f.opt_integer("calls", minimum=0),
            kernel=f.opt_string("kernel"),
            macs=f.opt_integer("macs", minimum=0),
            flops=f.opt_integer("flops", minimum=0),
            bytes=f.opt_integer("bytes", minimum=0),
            energy_j=f.opt_number("energy_j", minimum=0),
        )
