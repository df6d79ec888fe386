"""The one layer vocabulary of cnnbench (DESIGN.md section 3, "Layer taxonomy").

Every per-layer figure, from the ONNX cost model or from an engine's profile (PyTorch profiler,
ONNX Runtime profiling, OpenVINO execution graph), is filed under one of these types:

===============  ===========================================================================
type             what it holds
===============  ===========================================================================
``conv``         convolution with ``group == 1`` and a kernel larger than 1 (also transposed)
``conv_dw``      depthwise convolution: ``group == in_channels``, ``out_channels`` a multiple
``conv_group``   grouped convolution that is not depthwise (``1 < group < in_channels``)
``conv_1x1``     pointwise convolution: ``group == 1``, every kernel dimension 1 (any stride)
``fc``           fully connected / matrix multiply: Gemm, MatMul, Linear, FullyConnected
``batchnorm``    normalisation layers (BatchNormalization, Instance/Layer/Group norm)
``activation``   unary non-linear functions: Relu, Clip, Sigmoid, HardSwish, Softmax, ...
``pool``         Max/Average/Global pooling and spatial Reduce* (global average pooling)
``add``          element-wise arithmetic of tensors: residual Add, Sub, Mul, Div, Sum
``concat``       Concat / Concatenation
``reshape``      layout-only ops: Reshape, Flatten, Transpose, Squeeze, DepthToSpace, Reorder
``other``        everything else (Identity, Constant, Shape, Gather, Slice, Pad, Resize, ...)
===============  ===========================================================================

Engines that merge source layers report ``fused(a+b+...)``, built with :func:`fused`, e.g.
``fused(conv+activation)``. Use :func:`onnx_layer_type` for an ONNX node (op type, attributes,
shapes) and :func:`layer_type_of` for a free-form op or layer-type string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cnnbench.errors import BadInput

CONV: Final = "conv"
CONV_DW: Final = "conv_dw"
CONV_GROUP: Final = "conv_group"
CONV_1X1: Final = "conv_1x1"
FC: Final = "fc"
BATCHNORM: Final = "batchnorm"
ACTIVATION: Final = "activation"
POOL: Final = "pool"
ADD: Final = "add"
CONCAT: Final = "concat"
RESHAPE: Final = "reshape"
OTHER: Final = "other"

LAYER_TYPES: Final[tuple[str, ...]] = (
    CONV,
    CONV_DW,
    CONV_GROUP,
    CONV_1X1,
    FC,
    BATCHNORM,
    ACTIVATION,
    POOL,
    ADD,
    CONCAT,
    RESHAPE,
    OTHER,
)
CONV_TYPES: Final[frozenset[str]] = frozenset({CONV, CONV_DW, CONV_GROUP, CONV_1X1})

_FUSED = re.compile(r"^fused\((?P<parts>[a-z0-9_+]+)\)$")

# ONNX op types (default domain) -> layer type. Conv, ConvTranspose and Reduce* are decided by
# their attributes in :func:`onnx_layer_type`.
_ONNX_TYPES: Final[dict[str, str]] = {
    "Gemm": FC,
    "MatMul": FC,
    "BatchNormalization": BATCHNORM,
    "InstanceNormalization": BATCHNORM,
    "LayerNormalization": BATCHNORM,
    "GroupNormalization": BATCHNORM,
    "MaxPool": POOL,
    "AveragePool": POOL,
    "LpPool": POOL,
    "GlobalAveragePool": POOL,
    "GlobalMaxPool": POOL,
    "GlobalLpPool": POOL,
    "Add": ADD,
    "Sub": ADD,
    "Mul": ADD,
    "Div": ADD,
    "Sum": ADD,
    "Mean": ADD,
    "Max": ADD,
    "Min": ADD,
    "Concat": CONCAT,
    "Reshape": RESHAPE,
    "Flatten": RESHAPE,
    "Transpose": RESHAPE,
    "Squeeze": RESHAPE,
    "Unsqueeze": RESHAPE,
    "DepthToSpace": RESHAPE,
    "SpaceToDepth": RESHAPE,
}
_ONNX_ACTIVATIONS: Final[frozenset[str]] = frozenset(
    {
        "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
        "Elu", "Selu", "Celu", "Gelu", "Softplus", "Softsign", "Mish", "ThresholdedRelu",
        "Softmax", "LogSoftmax", "Swish",
    }
)  # fmt: skip
_REDUCE_OPS: Final[frozenset[str]] = frozenset(
    {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL1", "ReduceL2"}
)

# Free-form labels (normalised: lower case, namespace and separators dropped) -> layer type.
_EXACT_LABELS: Final[dict[str, str]] = {
    **{k.lower(): v for k, v in _ONNX_TYPES.items()},
    **{k.lower(): ACTIVATION for k in _ONNX_ACTIVATIONS},
    # fully connected / matrix multiply
    "linear": FC, "addmm": FC, "mm": FC, "bmm": FC, "baddbmm": FC, "matmul": FC,
    "fullyconnected": FC, "innerproduct": FC, "dense": FC, "fc": FC, "fusedmatmul": FC,
    "qlinearmatmul": FC, "matmulinteger": FC,
    # normalisation
    "batchnorm": BATCHNORM, "batchnorm2d": BATCHNORM, "nativebatchnorm": BATCHNORM,
    "batchnormimplindex": BATCHNORM, "bn": BATCHNORM, "scaleshift": BATCHNORM,
    "layernorm": BATCHNORM, "groupnorm": BATCHNORM, "instancenorm": BATCHNORM, "mvn": BATCHNORM,
    # activations (PyTorch and OpenVINO spellings)
    "relu6": ACTIVATION, "hardtanh": ACTIVATION, "clamp": ACTIVATION, "clampmin": ACTIVATION,
    "silu": ACTIVATION, "hardsigmoid": ACTIVATION, "hsigmoid": ACTIVATION, "hswish": ACTIVATION,
    "hardswish": ACTIVATION, "softmax": ACTIVATION, "logsoftmax": ACTIVATION,
    "activation": ACTIVATION, "gelu": ACTIVATION, "erf": ACTIVATION,
    # pooling
    "pooling": POOL, "pool": POOL, "mean": POOL, "reducemean": POOL, "adaptiveavgpool": POOL,
    "maxpoolwithindices": POOL, "amax": POOL,
    # element-wise arithmetic
    "eltwise": ADD, "elementwise": ADD, "add": ADD, "sub": ADD, "mul": ADD, "div": ADD,
    "addition": ADD, "multiply": ADD, "subtract": ADD, "divide": ADD, "sum": ADD, "rsub": ADD,
    # concatenation
    "cat": CONCAT, "concat": CONCAT, "concatenation": CONCAT,
    # layout
    "view": RESHAPE, "flatten": RESHAPE, "reshape": RESHAPE, "transpose": RESHAPE, "t": RESHAPE,
    "permute": RESHAPE, "squeeze": RESHAPE, "unsqueeze": RESHAPE, "contiguous": RESHAPE,
    "reorder": RESHAPE, "reorderinput": RESHAPE, "reorderoutput": RESHAPE,
    "shufflechannels": RESHAPE, "channelshuffle": RESHAPE, "pixelshuffle": RESHAPE,
    "depthtospace": RESHAPE, "spacetodepth": RESHAPE,
    # fused kernels of ONNX Runtime
    "fusedconv": f"fused({CONV}+{ACTIVATION})",
    "fusedgemm": f"fused({FC}+{ACTIVATION})",
}  # fmt: skip

# Substring rules, tried in order after the exact table.
_SUBSTRING_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("convert", OTHER),  # OpenVINO's precision conversion, not a convolution
    ("depthwise", CONV_DW),
    ("dwconv", CONV_DW),
    ("groupconv", CONV_GROUP),
    ("conv1x1", CONV_1X1),
    ("pointwise", CONV_1X1),
    ("conv", CONV),
    ("deconvolution", CONV),
    ("fullyconnected", FC),
    ("matmul", FC),
    ("gemm", FC),
    ("linear", FC),
    ("batchnorm", BATCHNORM),
    ("layernorm", BATCHNORM),
    ("normalization", BATCHNORM),
    ("pool", POOL),
    ("relu", ACTIVATION),
    ("sigmoid", ACTIVATION),
    ("swish", ACTIVATION),
    ("tanh", ACTIVATION),
    ("softmax", ACTIVATION),
    ("eltwise", ADD),
    ("concat", CONCAT),
    ("reshape", RESHAPE),
    ("reorder", RESHAPE),
    ("transpose", RESHAPE),
    ("flatten", RESHAPE),
    ("squeeze", RESHAPE),
)


def is_layer_type(name: str) -> bool:
    """Whether ``name`` is a taxonomy type, plain (``conv``) or fused (``fused(conv+add)``)."""
    if name in LAYER_TYPES:
        return True
    match = _FUSED.match(name)
    return match is not None and all(p in LAYER_TYPES for p in match.group("parts").split("+"))


def fused(*types: str) -> str:
    """``fused(a+b+...)`` for layers an engine merged; nested fused names are flattened.

    A single type stays plain: ``fused("conv") == "conv"``.
    """
    parts: list[str] = []
    for t in types:
        for part in fused_parts(t):
            if part not in LAYER_TYPES:
                raise BadInput(f"{part!r} is not a layer type; known: {', '.join(LAYER_TYPES)}")
            parts.append(part)
    if not parts:
        raise BadInput("fused() needs at least one layer type")
    return parts[0] if len(parts) == 1 else f"fused({'+'.join(parts)})"


def fused_parts(name: str) -> tuple[str, ...]:
    """The plain types in ``name``: ``("conv", "activation")`` for ``fused(conv+activation)``."""
    match = _FUSED.match(name)
    return tuple(match.group("parts").split("+")) if match else (name,)


def conv_type(
    group: int, in_channels: int | None, out_channels: int | None, kernel_shape: Sequence[int]
) -> str:
    """The convolution subtype from its group count, channel counts and kernel shape.

    Depthwise: ``group == in_channels`` (> 1) and ``out_channels`` a multiple of it (the channel
    multiplier). A channel count may be None when unknown; ``in_channels`` then defaults to
    ``group`` times the kernel's input channels, which callers usually know.
    """
    if group > 1:
        depthwise = in_channels == group and (out_channels is None or out_channels % group == 0)
        return CONV_DW if depthwise else CONV_GROUP
    if kernel_shape and all(k == 1 for k in kernel_shape):
        return CONV_1X1
    return CONV


def onnx_layer_type(
    op_type: str,
    attributes: Mapping[str, Any] | None = None,
    input_shapes: Sequence[Sequence[int] | None] = (),
    *,
    domain: str = "",
) -> str:
    """The layer type of one ONNX node.

    ``attributes`` are the node's attributes as Python values (``group``, ``kernel_shape``,
    ``axes`` ...); for Reduce* ops of opset >= 18 pass the constant ``axes`` input under
    ``"axes"``. ``input_shapes`` are the static shapes of the node's inputs in order (None where
    unknown). Ops of other domains are ``other`` unless their name is a known label.
    """
    attrs = attributes or {}
    if domain not in ("", "ai.onnx"):
        return layer_type_of(op_type)
    if op_type in ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv"):
        return _onnx_conv_type(op_type, attrs, input_shapes)
    if op_type in _REDUCE_OPS:
        return _onnx_reduce_type(attrs, input_shapes)
    if op_type in _ONNX_ACTIVATIONS:
        return ACTIVATION
    return _ONNX_TYPES.get(op_type, OTHER)


def _onnx_conv_type(
    op_type: str, attrs: Mapping[str, Any], input_shapes: Sequence[Sequence[int] | None]
) -> str:
    group = int(attrs.get("group", 1))
    weight_index = 3 if op_type == "QLinearConv" else 1
    x_shape = input_shapes[0] if input_shapes else None
    w_shape = input_shapes[weight_index] if len(input_shapes) > weight_index else None
    kernel = list(attrs.get("kernel_shape") or (w_shape[2:] if w_shape else []))
    if op_type == "ConvTranspose":
        cin = w_shape[0] if w_shape else (x_shape[1] if x_shape else None)
        cout = w_shape[1] * group if w_shape else None
    else:
        cin = x_shape[1] if x_shape and len(x_shape) > 1 else None
        if cin is None and w_shape:
            cin = w_shape[1] * group
        cout = w_shape[0] if w_shape else None
    return conv_type(group, cin, cout, kernel)


def _onnx_reduce_type(
    attrs: Mapping[str, Any], input_shapes: Sequence[Sequence[int] | None]
) -> str:
    x_shape = input_shapes[0] if input_shapes else None
    axes = attrs.get("axes")
    if x_shape is None or axes is None or len(x_shape) < 3:
        return OTHER
    rank = len(x_shape)
    normal = sorted(a % rank for a in axes)
    return POOL if normal == list(range(2, rank)) else OTHER


def _normalise(label: str) -> str:
    text = label.strip()
    if "::" in text:
        text = text.rsplit("::", 1)[1]
    text = text.lower().rstrip("_")
    text = re.sub(r"(\d)d$", "", text)  # conv2d -> conv, max_pool2d -> max_pool
    return re.sub(r"[^a-z0-9]", "", text)


def layer_type_of(label: str) -> str:
    """Map a free-form op or layer-type string from any engine to the taxonomy.

    Understands ONNX op types (``Conv``, ``MatMul``, ``Relu``), PyTorch profiler names
    (``aten::conv2d``, ``aten::addmm``, ``aten::relu_``), OpenVINO layer types (``Convolution``,
    ``GroupConvolution``, ``FullyConnected``, ``Eltwise``, ``Pooling``, ``Concatenation``,
    ``Reorder``), ONNX Runtime kernels (``FusedConv``) and ``+``-joined fusions
    (``Conv+Relu`` becomes ``fused(conv+activation)``). A taxonomy name maps to itself.
    Convolutions come back as ``conv`` (or ``conv_group`` for a group convolution) unless the
    label says depthwise or 1x1: refine them with :func:`conv_type` when the engine reports
    groups and kernel. Unknown labels are ``other``.
    """
    text = label.strip()
    if is_layer_type(text):
        return text
    if "+" in text and not text.startswith("fused("):
        return fused(*(layer_type_of(part) for part in text.split("+") if part.strip()))
    key = _normalise(text)
    if not key:
        return OTHER
    if key in _EXACT_LABELS:
        return _EXACT_LABELS[key]
    for needle, layer_type in _SUBSTRING_RULES:
        if needle in key:
            return layer_type
    return OTHER
