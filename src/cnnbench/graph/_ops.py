"""Per-op work formulas of the cost model; the conventions are tabled in :mod:`cnnbench.graph.cost`.

:func:`op_work` gives ``(macs, flops)`` for the whole batch of one node, or raises
:class:`Uncounted` with the reason when the op is not modelled or its shapes are unknown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

Shape = tuple[int, ...]

# FLOPs per output element of unary (activation and math) ops.
UNARY_FLOPS: Final[dict[str, int]] = {
    "Relu": 1, "LeakyRelu": 2, "PRelu": 2, "ThresholdedRelu": 1, "Clip": 2, "Sigmoid": 4,
    "Tanh": 5, "HardSigmoid": 4, "HardSwish": 5, "Elu": 3, "Selu": 4, "Celu": 3, "Gelu": 8,
    "Softplus": 3, "Softsign": 3, "Mish": 7, "Swish": 5, "Exp": 1, "Log": 1, "Sqrt": 1,
    "Reciprocal": 1, "Neg": 1, "Abs": 1, "Erf": 1, "Floor": 1, "Ceil": 1, "Round": 1,
    "Sign": 1, "Pow": 1,
}  # fmt: skip
# Element-wise comparisons, logic, selection and Mod (exporters emit them in shape arithmetic):
# 1 FLOP per output element; their constant inputs are not weights.
COMPARE_FLOPS: Final[frozenset[str]] = frozenset(
    {
        "Mod", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor",
        "Not", "Where",
    }
)  # fmt: skip
# Element-wise ops over n inputs: n - 1 FLOPs per output element (Mean: n, the divide).
NARY_OPS: Final[frozenset[str]] = frozenset({"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min"})
SOFTMAX_FLOPS: Final = 5  # max, subtract, exp, sum, divide
BATCHNORM_FLOPS: Final = 2  # scale and shift, statistics folded into them
NORM_FLOPS: Final = 7  # Instance/Layer/Group norm: mean 1, centre 1, variance 2, norm 1, affine 2
REDUCE_OPS: Final[frozenset[str]] = frozenset(
    {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL1", "ReduceL2", "ReduceProd"}
)
ZERO_FLOP_OPS: Final[frozenset[str]] = frozenset(
    {
        "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Constant",
        "Shape", "Size", "Gather", "GatherElements", "Slice", "Concat", "Split", "Pad", "Expand",
        "Tile", "Cast", "CastLike", "Dropout", "DepthToSpace", "SpaceToDepth",
        "ConstantOfShape", "Range", "GatherND", "ScatterND", "ScatterElements",
        "SplitToSequence", "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceInsert",
        "SequenceErase", "SequenceLength", "ConcatFromSequence",
    }
)  # fmt: skip
# Inputs that hold weights (parameters); other constant inputs (shapes, axes, bounds, scales,
# pads) are control data and neither parameters nor weight bytes. "*" means every input.
WEIGHT_SLOTS: Final[dict[str, tuple[int, ...] | str]] = {
    "Conv": (1, 2),
    "ConvTranspose": (1, 2),
    "Gemm": (0, 1, 2),
    "MatMul": (0, 1),
    "BatchNormalization": (1, 2, 3, 4),
    "InstanceNormalization": (1, 2),
    "LayerNormalization": (1, 2),
    "GroupNormalization": (1, 2),
    "PRelu": (1,),
    **dict.fromkeys(NARY_OPS | {"Mean", "Concat"}, "*"),
}


class Uncounted(Exception):
    """The op's work is not modelled, or cannot be computed from what is known."""


@dataclass(frozen=True)
class NodeView:
    """What :func:`op_work` needs to know about one node."""

    op_type: str
    domain: str
    attrs: Mapping[str, Any]
    inputs: Sequence[Shape | None]  # static input shapes, None where unknown or absent
    outputs: Sequence[Shape | None]
    values: Sequence[np.ndarray | None]  # values of small constant inputs, else None


def numel(shape: Shape) -> int:
    return math.prod(shape)


def conv_output_spatial(
    in_spatial: Sequence[int],
    kernel: Sequence[int],
    *,
    strides: Sequence[int] | None = None,
    pads: Sequence[int] | None = None,
    dilations: Sequence[int] | None = None,
    auto_pad: str = "NOTSET",
) -> Shape:
    """Output spatial size of a Conv (or pooling) window, following the ONNX operator spec."""
    rank = len(in_spatial)
    strides = list(strides or [1] * rank)
    dilations = list(dilations or [1] * rank)
    pads = list(pads or [0] * (2 * rank))
    out = []
    for i in range(rank):
        size, stride = in_spatial[i], strides[i]
        span = dilations[i] * (kernel[i] - 1) + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // stride))
        elif auto_pad == "VALID":
            out.append((size - span) // stride + 1)
        else:
            out.append((size + pads[i] + pads[i + rank] - span) // stride + 1)
    return tuple(out)


def _need(shape: Shape | None, what: str) -> Shape:
    if shape is None:
        raise Uncounted(f"{what} shape unknown")
    return shape


def _conv(node: NodeView) -> tuple[int, int]:
    w = _need(node.inputs[1] if len(node.inputs) > 1 else None, "weight")
    y = node.outputs[0] if node.outputs else None
    if y is None:  # the output's shape from the input's
        x = _need(node.inputs[0], "input")
        spatial = conv_output_spatial(
            x[2:],
            node.attrs.get("kernel_shape") or w[2:],
            strides=node.attrs.get("strides"),
            pads=node.attrs.get("pads"),
            dilations=node.attrs.get("dilations"),
            auto_pad=str(node.attrs.get("auto_pad", "NOTSET")),
        )
        y = (x[0], w[0], *spatial)
    # Each output element is a dot product over (Cin / group) x kernel: W's dims after the first.
    macs = numel(y) * numel(w[1:])
    return macs, 2 * macs


def _conv_transpose(node: NodeView) -> tuple[int, int]:
    x = _need(node.inputs[0], "input")
    w = _need(node.inputs[1] if len(node.inputs) > 1 else None, "weight")
    # Each input element is scattered through (Cout / group) x kernel weights: W is
    # (Cin, Cout / group, k...).
    macs = numel(x) * numel(w[1:])
    return macs, 2 * macs


def _gemm(node: NodeView) -> tuple[int, int]:
    a = _need(node.inputs[0], "A")
    y = _need(node.outputs[0], "output")
    k = a[0] if node.attrs.get("transA", 0) else a[1]
    macs = numel(y) * k
    return macs, 2 * macs


def _matmul(node: NodeView) -> tuple[int, int]:
    a = _need(node.inputs[0], "A")
    y = _need(node.outputs[0], "output")
    macs = numel(y) * a[-1]
    return macs, 2 * macs


def _pool(node: NodeView) -> tuple[int, int]:
    y = _need(node.outputs[0], "output")
    kernel = node.attrs.get("kernel_shape")
    if not kernel:
        raise Uncounted("pooling without kernel_shape")
    return 0, numel(y) * numel(tuple(kernel))


def _resize(node: NodeView) -> tuple[int, int]:
    x = _need(node.inputs[0], "input")
    y = _need(node.outputs[0], "output")
    mode = str(node.attrs.get("mode", "nearest"))
    resized = sum(1 for a, b in zip(x, y, strict=False) if a != b)
    taps = {"nearest": 0, "linear": 2, "cubic": 4}.get(mode)
    if taps is None:
        raise Uncounted(f"Resize mode {mode!r}")
    return 0, 0 if taps == 0 else numel(y) * 2 * taps**resized


def _lrn(node: NodeView) -> tuple[int, int]:
    y = _need(node.outputs[0], "output")
    size = int(node.attrs.get("size", 1))
    return 0, numel(y) * (2 * size + 4)


def op_work(node: NodeView) -> tuple[int, int]:
    """``(macs, flops)`` of the node for its whole batch; :class:`Uncounted` if not modelled."""
    op = node.op_type
    if node.domain not in ("", "ai.onnx"):
        raise Uncounted(f"op of domain {node.domain!r} is not modelled")
    if op == "Conv":
        return _conv(node)
    if op == "ConvTranspose":
        return _conv_transpose(node)
    if op == "Gemm":
        return _gemm(node)
    if op == "MatMul":
        return _matmul(node)
    if op in ZERO_FLOP_OPS:
        return 0, 0
    if op in ("MaxPool", "AveragePool", "LpPool"):
        return _pool(node)
    if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool") or op in REDUCE_OPS:
        return 0, numel(_need(node.inputs[0], "input"))
    if op == "Resize":
        return _resize(node)
    if op == "LRN":
        return _lrn(node)
    y = _need(node.outputs[0] if node.outputs else None, "output")
    if op in UNARY_FLOPS:
        return 0, numel(y) * UNARY_FLOPS[op]
    if op in COMPARE_FLOPS:
        return 0, numel(y)
    if op in NARY_OPS:
        return 0, numel(y) * max(1, len(node.inputs) - 1)
    if op == "Mean":
        return 0, numel(y) * len(node.inputs)
    if op in ("Softmax", "LogSoftmax"):
        return 0, numel(y) * SOFTMAX_FLOPS
    if op == "BatchNormalization":
        return 0, numel(y) * BATCHNORM_FLOPS
    if op in ("InstanceNormalization", "LayerNormalization", "GroupNormalization"):
        return 0, numel(y) * NORM_FLOPS
    raise Uncounted(f"no cost formula for {op}")


def weight_slots(op_type: str, n_inputs: int) -> tuple[int, ...]:
    """Indices of the inputs of ``op_type`` that hold weights when constant."""
    slots = WEIGHT_SLOTS.get(op_type, ())
    if isinstance(slots, str):  # "*": every input
        return tuple(range(n_inputs))
    return slots
