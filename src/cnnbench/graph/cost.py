"""Analytic cost of an ONNX graph: MACs, FLOPs, parameters, bytes, per node and per network.

:func:`network_cost` runs ``onnx.shape_inference.infer_shapes`` and costs every node;
:func:`model_cost` does the same for a registered model through the export cache. Figures are for
the whole batch of the graph; :class:`NetworkCost` also gives them per image.

MACs count multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul only (the figure papers
quote: ResNet-50 4.09 G); their FLOPs are 2 x MACs (bias adds are not counted). Every other op has
0 MACs and FLOPs by the convention below. ``numel(Y)`` is the number of output elements.

======================================  ====================================================
op                                      FLOPs (whole batch)
======================================  ====================================================
Conv                                    2 x numel(Y) x (Cin / group) x prod(kernel)
ConvTranspose                           2 x numel(X) x (Cout / group) x prod(kernel)
Gemm, MatMul                            2 x numel(Y) x K
BatchNormalization (not folded)         2 per element (scale + shift)
Instance/Layer/GroupNormalization       7 per element (mean, centre, variance 2, norm, affine 2)
Relu, ThresholdedRelu                   1 per element
LeakyRelu, PRelu, Clip                  2 per element (compare + multiply; max + min)
Sigmoid                                 4 per element (negate, exp, add, divide)
Tanh                                    5 per element
HardSigmoid                             4 per element (multiply, add, max, min)
HardSwish                               5 per element (HardSigmoid + multiply)
Elu, Celu 3; Selu 4; Softplus,          per element; Gelu 8, Mish 7, Swish 5
Softsign 3
Exp, Log, Sqrt, Reciprocal, Neg, Abs,   1 per element
Erf, Floor, Ceil, Round, Sign, Pow
Add, Sub, Mul, Div, Sum, Max, Min       (inputs - 1) per output element (Mean: inputs)
Softmax, LogSoftmax                     5 per element (max, subtract, exp, sum, divide)
MaxPool, AveragePool, LpPool            prod(kernel) per output element
GlobalAverage/Max/LpPool, Reduce*       1 per input element
LRN                                     2 x size + 4 per element
Resize                                  nearest 0; linear 2 x 2^a, cubic 2 x 4^a per output
                                        element (a = number of resized axes)
Reshape, Flatten, Transpose, Squeeze,   0 (data movement; their bytes still count)
Unsqueeze, Identity, Constant, Shape,
Gather, Slice, Concat, Split, Pad,
Expand, Tile, Cast, Dropout,
DepthToSpace, SpaceToDepth
anything else                           *uncounted*: macs and flops None, listed by name in
                                        ``NetworkCost.uncounted``, never silently zero
======================================  ====================================================

Parameters are the elements of constant inputs that hold weights (Conv/Gemm weight and bias,
the four BatchNormalization vectors, a constant operand of Add/Mul...); shapes, axes, clip bounds
and resize scales are control data, not parameters. Weight bytes are those elements times their
type size. Input and output bytes count activations only (non-constant tensors). Arithmetic
intensity is FLOPs / (weight bytes + input bytes + output bytes). Network totals count each
weight tensor and each activation tensor once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput
from cnnbench.graph import _ops
from cnnbench.graph._graphview import GraphView, plain_attribute
from cnnbench.graph.taxonomy import onnx_layer_type

if TYPE_CHECKING:
    import onnx

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerCost:
    """The cost of one ONNX node (whole batch). ``macs``/``flops`` are None when uncounted."""

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
    """The cost of a whole graph; totals are for the batch the graph was exported with."""

    model: str
    input_shape: Shape  # batch first
    layers: tuple[LayerCost, ...]
    macs: int
    flops: int
    params: int
    weight_bytes: int
    activation_bytes: int  # every activation tensor (graph input included) once
    by_type: Mapping[str, TypeCost] = field(default_factory=dict)
    uncounted: tuple[str, ...] = ()  # op types without a formula, sorted

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

    def summary(self) -> str:
        """A few lines for people: totals, MAC share per type, uncounted ops by name."""
        lines = [
            f"{self.model} {'x'.join(map(str, self.input_shape))}: {_si(self.macs, 'MACs')} "
            f"({_si(self.macs_per_image, 'MACs')} per image), {_si(self.flops, 'FLOPs')}, "
            f"{_si(self.params, ' params')}, {len(self.layers)} layers"
        ]
        for name, t in sorted(self.by_type.items(), key=lambda kv: -kv[1].flops):
            lines.append(
                f"  {name:<12} {t.layers:>4} layers  {_si(t.macs, 'MACs'):>14} "
                f"({100 * t.mac_share:5.1f} %)  {_si(t.flops, 'FLOPs'):>15}"
            )
        if self.uncounted:
            missing = [x.op_type for x in self.layers if not x.counted]
            listed = ", ".join(f"{op} x{missing.count(op)}" for op in self.uncounted)
            lines.append(f"  uncounted (no FLOPs figure): {listed}")
        return "\n".join(lines)

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
            "by_type": {k: v.to_dict() for k, v in self.by_type.items()},
            "uncounted": list(self.uncounted),
            "n_layers": len(self.layers),
        }
        if layers:
            out["layers"] = [layer.to_dict() for layer in self.layers]
        return out


def model_cost(
    model_name: str, sample_shape: tuple[int, ...] | None = None, batch: int = 1, *, opset: int = 17
) -> NetworkCost:
    """The cost of a registered model; ``sample_shape`` defaults to the registry's input shape."""
    from cnnbench.graph.export import onnx_path

    if sample_shape is None:
        from cnnbench.models import get_model_info

        sample_shape = get_model_info(model_name).input_shape
    if batch < 1:
        raise BadInput(f"batch must be 1 or more, not {batch}")
    path = onnx_path(model_name, (batch, *sample_shape), opset=opset)
    return replace(network_cost(path), model=model_name)


def network_cost(model_path: Path | str | onnx.ModelProto) -> NetworkCost:
    """Cost every node of an ONNX model (a file or a loaded ``ModelProto``)."""
    import onnx

    if isinstance(model_path, onnx.ModelProto):
        model, label = model_path, model_path.graph.name or "model"
    else:
        path = Path(model_path)
        if not path.is_file():
            raise BadInput(f"ONNX model {str(path)!r} does not exist")
        model, label = onnx.load(str(path)), path.stem
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # onnx raises several kinds; all mean the graph is malformed
        raise BadInput(f"ONNX shape inference failed on {label}: {exc}") from exc
    return _cost_graph(model.graph, label)


def _cost_graph(graph: onnx.GraphProto, label: str) -> NetworkCost:
    from onnx import helper

    g = GraphView(graph)
    layers: list[LayerCost] = []
    weights_seen: dict[str, tuple[int, int]] = {}  # source name -> (elements, bytes)
    activations: set[str] = {i.name for i in graph.input if i.name not in g.constants}
    for index, node in enumerate(graph.node):
        attrs = {a.name: plain_attribute(helper.get_attribute_value(a)) for a in node.attribute}
        ins, outs = list(node.input), list(node.output)
        if node.op_type in _ops.REDUCE_OPS and "axes" not in attrs and len(ins) > 1:
            axes = g.value(ins[1])
            attrs["axes"] = None if axes is None else [int(a) for a in axes]
        view = _ops.NodeView(
            node.op_type,
            node.domain,
            attrs,
            [g.shape(i) for i in ins],
            [g.shape(o) for o in outs],
            [g.value(i) if i in g.constants else None for i in ins],
        )
        try:
            macs, flops = _ops.op_work(view)
            reason: str | None = None
        except _ops.Uncounted as exc:
            macs, flops, reason = None, None, str(exc)
        params = weight_bytes = 0
        for slot in _ops.weight_slots(node.op_type, len(ins)):
            name = ins[slot] if slot < len(ins) else ""
            shape = g.shape(name)
            if name in g.constants and shape is not None and g.is_float(name):
                params += math.prod(shape)
                weight_bytes += g.nbytes(name)
                weights_seen[g.source(name)] = (math.prod(shape), g.nbytes(name))
        activation_ins = [i for i in ins if i and i not in g.constants]
        activation_outs = [o for o in outs if o and o not in g.constants]
        activations.update(activation_outs)
        default_domain = node.domain in ("", "ai.onnx")
        layers.append(
            LayerCost(
                name=node.name or f"{node.op_type}_{index}",
                op_type=node.op_type if default_domain else f"{node.domain}.{node.op_type}",
                layer_type=onnx_layer_type(node.op_type, attrs, view.inputs, domain=node.domain),
                macs=macs,
                flops=flops,
                params=params,
                weight_bytes=weight_bytes,
                input_bytes=sum(g.nbytes(i) for i in activation_ins),
                output_bytes=sum(g.nbytes(o) for o in activation_outs),
                input_shapes=tuple(view.inputs),
                output_shapes=tuple(view.outputs),
                uncounted_reason=reason,
            )
        )
    input_shape = next((g.shape(i.name) for i in graph.input if i.name not in g.constants), None)
    return NetworkCost(
        model=label,
        input_shape=input_shape or (),
        layers=tuple(layers),
        macs=sum(x.macs or 0 for x in layers),
        flops=sum(x.flops or 0 for x in layers),
        params=sum(n for n, _ in weights_seen.values()),
        weight_bytes=sum(b for _, b in weights_seen.values()),
        activation_bytes=sum(g.nbytes(a) for a in activations),
        by_type=_by_type(layers),
        uncounted=tuple(sorted({x.op_type for x in layers if not x.counted})),
    )


def _by_type(layers: list[LayerCost]) -> dict[str, TypeCost]:
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


def _si(value: float, unit: str) -> str:
    """``4.089 GMACs``, ``3.488 M params``, ``618 params``."""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3f} {prefix}{unit}"
    return f"{value:g} {unit.strip()}"
