"""Analytic cost of an ONNX graph: MACs, FLOPs, parameters, bytes, per node and per network.

:func:`network_cost` runs ``onnx.shape_inference.infer_shapes`` and costs every node;
:func:`model_cost` does the same for a registered model through the export cache. Figures are for
the whole batch of the graph; :class:`NetworkCost` also gives them per image.

Shapes: when static inference leaves a tensor's shape unknown (``x.chunk(2, dim=1)`` exported as
``Shape -> Gather -> Div -> Slice``: inference does not carry values through ``Div``), the graph
is run once with onnxruntime at its own input shape and the shapes are read from that run
(:mod:`cnnbench.graph._runshapes`); ``NetworkCost.shapes`` says which. Whatever stays unknown or
uncounted makes the totals lower bounds, and ``NetworkCost.complete`` is False.

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
Expand, Tile, Cast, Dropout, Range,
DepthToSpace, SpaceToDepth, GatherND,
ScatterND/Elements, Sequence* ops
Mod, Equal, Less, Greater, And, Or,     1 per output element
Xor, Not, Where (shape arithmetic)
anything else                           *uncounted*: macs and flops None, listed by name in
                                        ``NetworkCost.uncounted``, never silently zero
======================================  ====================================================

Parameters are the elements of constant inputs that hold weights (Conv/Gemm weight and bias,
the four BatchNormalization vectors, a constant operand of Add/Mul...); shapes, axes, clip bounds
and resize scales are control data, not parameters. Weight bytes are those elements times their
type size. Input and output bytes count activations only (non-constant tensors). Arithmetic
intensity is FLOPs / (weight bytes + input bytes + output bytes). Network parameters and weight
bytes are the sum over nodes: a weight tensor counts once per consuming weight slot (exporters
merge equal initializers, see :class:`NetworkCost`); each activation tensor counts once.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cnnbench.errors import BadInput
from cnnbench.graph import _ops
from cnnbench.graph._costdata import LayerCost, NetworkCost, ShapeSource, TypeCost, by_type
from cnnbench.graph._graphview import GraphView, plain_attribute
from cnnbench.graph._runshapes import EXECUTED, add_value_info, run_for_shapes
from cnnbench.graph.taxonomy import onnx_layer_type

if TYPE_CHECKING:
    import onnx

__all__ = ["LayerCost", "NetworkCost", "ShapeSource", "TypeCost", "model_cost", "network_cost"]


def model_cost(
    model_name: str,
    sample_shape: tuple[int, ...] | None = None,
    batch: int = 1,
    *,
    opset: int = 17,
    fold_bn: bool = True,
) -> NetworkCost:
    """The cost of a registered model; ``sample_shape`` defaults to the registry's input shape.
    ``fold_bn=False`` costs the export that keeps BatchNorm (each one 2 FLOPs per element)."""
    from cnnbench.graph.export import onnx_path

    if sample_shape is None:
        from cnnbench.models import get_model_info

        sample_shape = get_model_info(model_name).input_shape
    if batch < 1:
        raise BadInput(f"batch must be 1 or more, not {batch}")
    path = onnx_path(model_name, (batch, *sample_shape), opset=opset, fold_bn=fold_bn)
    return replace(network_cost(path), model=model_name)


def network_cost(model_path: Path | str | onnx.ModelProto, *, execute: bool = True) -> NetworkCost:
    """Cost every node of an ONNX model (a file or a loaded ``ModelProto``, left unchanged).

    Shapes come from ONNX static inference; when it leaves any unknown and ``execute`` is true,
    from one onnxruntime run of the graph as well (see the module docstring).
    """
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
    g = GraphView(model.graph)
    unknown = g.unknown_shapes()
    source: ShapeSource = "static"
    note: str | None = None
    if unknown:
        run = run_for_shapes(model, unknown) if execute else None
        if run is not None and run.shapes:
            add_value_info(model.graph, run.shapes)
            g = GraphView(model.graph)
        left = g.unknown_shapes()
        source = EXECUTED if run is not None and not left else "partial"
        if left:
            note = f"static inference left {len(unknown)} tensor shapes unknown; " + (
                "the graph was not run"
                if run is None
                else run.reason or f"running the graph left {len(left)} unknown"
            )
    return _cost_graph(model.graph, g, label, source, note)


def _cost_graph(
    graph: onnx.GraphProto, g: GraphView, label: str, shapes: ShapeSource, note: str | None
) -> NetworkCost:
    from onnx import helper

    layers: list[LayerCost] = []
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
        params, weight_bytes = _weights(g, node.op_type, ins)
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
        params=sum(x.params for x in layers),
        weight_bytes=sum(x.weight_bytes for x in layers),
        activation_bytes=sum(g.nbytes(a) for a in activations),
        by_type=by_type(layers),
        uncounted=tuple(sorted({x.op_type for x in layers if not x.counted})),
        shapes=shapes,
        shapes_note=note,
        unknown_shapes=len(g.unknown_shapes()),
    )


def _weights(g: GraphView, op_type: str, inputs: list[str]) -> tuple[int, int]:
    """``(params, weight bytes)`` of one node: every constant floating-point weight slot counts
    its tensor (reached through ``Identity`` chains), shared with other nodes or not."""
    params = weight_bytes = 0
    for slot in _ops.weight_slots(op_type, len(inputs)):
        name = inputs[slot] if slot < len(inputs) else ""
        if name not in g.constants:
            continue
        source = g.source(name)
        shape = g.shape(source) or g.shape(name)
        if shape is not None and g.is_float(source):
            params += math.prod(shape)
            weight_bytes += g.nbytes(source) or g.nbytes(name)
    return params, weight_bytes
