"""The cost model's results: one node (:class:`LayerCost`), one layer type (:class:`TypeCost`),
one network (:class:`NetworkCost`). Made by :mod:`cnnbench.graph.cost`, which re-exports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Shape = tuple[int, ...]
# How the activation shapes were had: ONNX static inference alone; static inference plus one
# run with onnxruntime for the tensors it left unknown; or some shapes are still unknown.
ShapeSource = Literal["static", "executed (onnxruntime)", "partial"]


@dataclass(frozen=True)
class LayerCost:
    """The cost of one ONNX node (whole batch). ``macs``/``flops`` are None when uncounted.

    ``params`` are the elements of the node's constant weight inputs, each slot counted (an
    initializer that feeds two nodes counts in both).
    """

    name: str
    op_type: str
    layer_type: str
    macs: int | None
    flops: int | None
    params: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    input_shapes: tuple[Shape | None, ...] = ()
    output_shapes: tuple[Shape | None, ...] = ()
    uncounted_reason: str | None = None

    @property
    def counted(self) -> bool:
        return self.uncounted_reason is None

    @property
    def arithmetic_intensity(self) -> float | None:
        """FLOPs per byte moved (weights + input and output activations); None if unknown."""
        moved = self.weight_bytes + self.input_bytes + self.output_bytes
        if self.flops is None or moved == 0:
            return None
        return self.flops / moved

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op_type": self.op_type,
            "layer_type": self.layer_type,
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "input_bytes": self.input_bytes,
            "output_bytes": self.output_bytes,
            "arithmetic_intensity": self.arithmetic_intensity,
            "input_shapes": [list(s) if s else None for s in self.input_shapes],
            "output_shapes": [list(s) if s else None for s in self.output_shapes],
            "uncounted_reason": self.uncounted_reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LayerCost:
        def shapes(key: str) -> tuple[Shape | None, ...]:
            return tuple(tuple(s) if s is not None else None for s in d.get(key) or ())

        return cls(
            name=str(d["name"]),
            op_type=str(d["op_type"]),
            layer_type=str(d["layer_type"]),
            macs=d["macs"],
            flops=d["flops"],
            params=int(d["params"]),
            weight_bytes=int(d["weight_bytes"]),
            input_bytes=int(d["input_bytes"]),
            output_bytes=int(d["output_bytes"]),
            input_shapes=shapes("input_shapes"),
            output_shapes=shapes("output_shapes"),
            uncounted_reason=d.get("uncounted_reason"),
        )


@dataclass(frozen=True)
class TypeCost:
    """Totals of the layers of one layer type."""

    layers: int
    macs: int
    flops: int
    params: int
    weight_bytes: int
    output_bytes: int
    mac_share: float  # of the network's MACs, 0..1
    flop_share: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class NetworkCost:
    """The cost of a whole graph; totals are for the batch the graph was exported with.

    ``params`` counts parameters per consuming weight slot: every constant weight input of a node
    (Conv/Gemm weight and bias, the four BatchNormalization vectors, a constant operand of
    Add/Mul...) counts its tensor's elements, ``Identity`` chains followed to the initializer. An
    initializer that exporters merged because two tensors were equal (two all-zero biases, one
    tensor behind several ``Identity`` nodes) therefore counts once per consumer, as in the
    project's own exports, which give each consumer its own copy. Weights a model really ties
    (one module applied twice) also count per use, where ``torch``'s ``parameters()`` counts them
    once. ``weight_bytes`` counts the same way.

    ``complete`` is True when every node was counted and every tensor's shape is known: only
    then are ``macs``, ``flops`` and the byte totals exact. Otherwise they are lower bounds and
    :meth:`summary`, :meth:`totals` and :meth:`to_dict` say so (``>= ...``), with
    ``uncounted_nodes`` nodes without a figure and ``unknown_shapes`` tensors without a shape.
    ``shapes`` says how the shapes were had, ``shapes_note`` why some are missing.
    """

    model: str
    input_shape: Shape  # batch first
    layers: tuple[LayerCost, ...]
    macs: int
    flops: int
    params: int
    weight_bytes: int
    activation_bytes: int  # every activation tensor (graph input included) once
    by_type: Mapping[str, TypeCost] = field(default_factory=dict)
    uncounted: tuple[str, ...] = ()  # op types of the uncounted nodes, sorted
    shapes: ShapeSource = "static"
    shapes_note: str | None = None
    unknown_shapes: int = 0  # node outputs (tensors) whose shape is still unknown

    @property
    def batch(self) -> int:
        return self.input_shape[0] if self.input_shape else 1

    @property
    def macs_per_image(self) -> float:
        return self.macs / self.batch

    @property
    def flops_per_image(self) -> float:
        return self.flops / self.batch

    @property
    def arithmetic_intensity(self) -> float | None:
        moved = self.weight_bytes + self.activation_bytes
        return self.flops / moved if moved else None

    @property
    def uncounted_nodes(self) -> int:
        """Nodes without a MACs/FLOPs figure (their work is missing from the totals)."""
        return sum(not x.counted for x in self.layers)

    @property
    def complete(self) -> bool:
        """Every node counted and every shape known: the totals are exact, not lower bounds."""
        return self.uncounted_nodes == 0 and self.unknown_shapes == 0

    def totals(self) -> str:
        """``4.089 GMACs``, or ``>= 73.400 MMACs, 39 nodes uncounted`` when incomplete."""
        return ", ".join([self._bound(self.macs, "MACs"), *self._gaps()])

    def summary(self) -> str:
        """A few lines for people: totals, MAC share per type, uncounted ops by name."""
        head = (
            f"{self.model} {'x'.join(map(str, self.input_shape))}: "
            f"{self._bound(self.macs, 'MACs')} ({self._bound(self.macs_per_image, 'MACs')} per "
            f"image), {self._bound(self.flops, 'FLOPs')}, {_si(self.params, ' params')}, "
            f"{len(self.layers)} layers"
        )
        tail = "; ".join(self._gaps())
        if self.shapes != "static":
            tail += ("; " if tail else "") + f"shapes {self.shapes}"
            tail += f": {self.shapes_note}" if self.shapes_note else ""
        lines = [f"{head}; {tail}" if tail else head]
        for name, t in sorted(self.by_type.items(), key=lambda kv: -kv[1].flops):
            lines.append(
                f"  {name:<12} {t.layers:>4} layers  {_si(t.macs, 'MACs'):>14} "
                f"({100 * t.mac_share:5.1f} %)  {_si(t.flops, 'FLOPs'):>15}"
            )
        if self.uncounted:
            lines.append(f"  uncounted (no FLOPs figure): {self.uncounted_by_op()}")
        return "\n".join(lines)

    def uncounted_by_op(self) -> str:
        """``Conv x39, Einsum x1``: the uncounted nodes per op type."""
        missing = [x.op_type for x in self.layers if not x.counted]
        return ", ".join(f"{op} x{missing.count(op)}" for op in self.uncounted)

    def to_dict(self, *, layers: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "macs": self.macs,
            "flops": self.flops,
            "macs_per_image": self.macs_per_image,
            "flops_per_image": self.flops_per_image,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "activation_bytes": self.activation_bytes,
            "arithmetic_intensity": self.arithmetic_intensity,
            "complete": self.complete,
            "totals": self.totals(),
            "uncounted_nodes": self.uncounted_nodes,
            "unknown_shapes": self.unknown_shapes,
            "shapes": self.shapes,
            "shapes_note": self.shapes_note,
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "uncounted": list(self.uncounted),
            "n_layers": len(self.layers),
        }
        if layers:
            out["layers"] = [layer.to_dict() for layer in self.layers]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NetworkCost:
        """The inverse of ``to_dict(layers=True)`` (a cost made in a worker, read here)."""
        return cls(
            model=str(d["model"]),
            input_shape=tuple(d["input_shape"]),
            layers=tuple(LayerCost.from_dict(x) for x in d["layers"]),
            macs=int(d["macs"]),
            flops=int(d["flops"]),
            params=int(d["params"]),
            weight_bytes=int(d["weight_bytes"]),
            activation_bytes=int(d["activation_bytes"]),
            by_type={k: TypeCost(**v) for k, v in d["by_type"].items()},
            uncounted=tuple(d.get("uncounted") or ()),
            shapes=d.get("shapes", "static"),
            shapes_note=d.get("shapes_note"),
            unknown_shapes=int(d.get("unknown_shapes") or 0),
        )

    def _bound(self, value: float, unit: str) -> str:
        return ("" if self.uncounted_nodes == 0 else ">= ") + _si(value, unit)

    def _gaps(self) -> list[str]:
        gaps = []
        if self.uncounted_nodes:
            gaps.append(_count(self.uncounted_nodes, "node") + " uncounted")
        if self.unknown_shapes:
            gaps.append(_count(self.unknown_shapes, "tensor shape") + " unknown (bytes >=)")
        return gaps


def by_type(layers: Sequence[LayerCost]) -> dict[str, TypeCost]:
    """Totals per layer type; shares are of the counted MACs and FLOPs."""
    total_macs = sum(x.macs or 0 for x in layers) or 1
    total_flops = sum(x.flops or 0 for x in layers) or 1
    out: dict[str, TypeCost] = {}
    for layer_type in sorted({x.layer_type for x in layers}):
        group = [x for x in layers if x.layer_type == layer_type]
        macs = sum(x.macs or 0 for x in group)
        flops = sum(x.flops or 0 for x in group)
        out[layer_type] = TypeCost(
            layers=len(group),
            macs=macs,
            flops=flops,
            params=sum(x.params for x in group),
            weight_bytes=sum(x.weight_bytes for x in group),
            output_bytes=sum(x.output_bytes for x in group),
            mac_share=macs / total_macs,
            flop_share=flops / total_flops,
        )
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _si(value: float, unit: str) -> str:
    """``4.089 GMACs``, ``3.488 M params``, ``618 params``."""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3f} {prefix}{unit}"
    return f"{value:g} {unit.strip()}"
