"""The layer vocabulary: ONNX nodes and free-form engine labels map into it."""

from __future__ import annotations

import pytest

from cnnbench.errors import BadInput
from cnnbench.graph.taxonomy import (
    LAYER_TYPES,
    conv_type,
    fused,
    fused_parts,
    is_layer_type,
    layer_type_of,
    onnx_layer_type,
)


def test_vocabulary() -> None:
    assert LAYER_TYPES == (
        "conv", "conv_dw", "conv_group", "conv_1x1", "fc", "batchnorm", "activation", "pool",
        "add", "concat", "reshape", "other",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("group", "cin", "cout", "kernel", "expected"),
    [
        (1, 3, 8, (3, 3), "conv"),
        (1, 8, 16, (1, 1), "conv_1x1"),
        (1, 8, 16, (1, 7), "conv"),
        (8, 8, 8, (3, 3), "conv_dw"),
        (8, 8, 16, (3, 3), "conv_dw"),  # channel multiplier 2
        (8, 8, 8, (1, 1), "conv_dw"),
        (4, 8, 16, (3, 3), "conv_group"),
        (2, 8, 8, (1, 1), "conv_group"),
    ],
)
def test_conv_type(group: int, cin: int, cout: int, kernel: tuple[int, ...], expected: str):
    assert conv_type(group, cin, cout, kernel) == expected


def test_onnx_conv_nodes_use_shapes_and_attributes() -> None:
    dw = onnx_layer_type("Conv", {"group": 32}, [(1, 32, 56, 56), (32, 1, 3, 3)])
    assert dw == "conv_dw"
    grouped = onnx_layer_type("Conv", {"group": 4}, [(1, 32, 56, 56), (64, 8, 3, 3)])
    assert grouped == "conv_group"
    assert onnx_layer_type("Conv", {"kernel_shape": [1, 1]}, [(1, 8, 4, 4), None]) == "conv_1x1"
    assert onnx_layer_type("ConvTranspose", {}, [(1, 4, 5, 5), (4, 6, 3, 3)]) == "conv"


@pytest.mark.parametrize(
    ("op_type", "expected"),
    [
        ("Gemm", "fc"), ("MatMul", "fc"), ("BatchNormalization", "batchnorm"),
        ("Relu", "activation"), ("Clip", "activation"), ("HardSwish", "activation"),
        ("Softmax", "activation"), ("MaxPool", "pool"), ("GlobalAveragePool", "pool"),
        ("Add", "add"), ("Mul", "add"), ("Concat", "concat"), ("Flatten", "reshape"),
        ("Transpose", "reshape"), ("DepthToSpace", "reshape"), ("Identity", "other"),
        ("Shape", "other"), ("Gather", "other"), ("Pad", "other"), ("Einsum", "other"),
    ],
)  # fmt: skip
def test_onnx_op_types(op_type: str, expected: str) -> None:
    assert onnx_layer_type(op_type) == expected


def test_reduce_mean_over_space_is_pooling() -> None:
    assert onnx_layer_type("ReduceMean", {"axes": [2, 3]}, [(1, 8, 7, 7)]) == "pool"
    assert onnx_layer_type("ReduceMean", {"axes": [-2, -1]}, [(1, 8, 7, 7)]) == "pool"
    assert onnx_layer_type("ReduceMean", {"axes": [1]}, [(1, 8, 7, 7)]) == "other"
    assert onnx_layer_type("ReduceMean", {}, [(1, 8, 7, 7)]) == "other"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # OpenVINO execution graph
        ("Convolution", "conv"), ("GroupConvolution", "conv_group"),
        ("FullyConnected", "fc"), ("Eltwise", "add"), ("Pooling", "pool"),
        ("Concatenation", "concat"), ("Reorder", "reshape"), ("MaxPool", "pool"),
        ("AvgPool", "pool"), ("Convert", "other"), ("Parameter", "other"), ("MVN", "batchnorm"),
        # PyTorch profiler
        ("aten::conv2d", "conv"), ("aten::_convolution", "conv"),
        ("aten::mkldnn_convolution", "conv"), ("aten::linear", "fc"), ("aten::addmm", "fc"),
        ("aten::batch_norm", "batchnorm"), ("aten::relu_", "activation"),
        ("aten::hardtanh_", "activation"), ("aten::max_pool2d", "pool"),
        ("aten::max_pool2d_with_indices", "pool"), ("aten::adaptive_avg_pool2d", "pool"),
        ("aten::add_", "add"), ("aten::add", "add"), ("aten::cat", "concat"),
        ("aten::flatten", "reshape"), ("aten::view", "reshape"), ("aten::dropout", "other"),
        ("aten::empty", "other"),
        # ONNX / ONNX Runtime
        ("Conv", "conv"), ("MatMul", "fc"), ("Relu", "activation"), ("Gemm", "fc"),
        ("BatchNormalization", "batchnorm"), ("GlobalAveragePool", "pool"),
        ("FusedConv", "fused(conv+activation)"), ("FusedGemm", "fused(fc+activation)"),
        ("ReorderInput", "reshape"), ("MemcpyToHost", "other"),
        # explicit hints and pass-through
        ("DepthwiseConv2dNative", "conv_dw"), ("conv_1x1", "conv_1x1"),
        ("fused(conv+add)", "fused(conv+add)"), ("Conv+Relu", "fused(conv+activation)"),
        ("", "other"), ("SomethingNew", "other"),
    ],
)  # fmt: skip
def test_free_form_labels(label: str, expected: str) -> None:
    assert layer_type_of(label) == expected
    assert is_layer_type(layer_type_of(label))


def test_fused_naming() -> None:
    assert fused("conv", "batchnorm", "activation") == "fused(conv+batchnorm+activation)"
    assert fused("fused(conv+batchnorm)", "activation") == "fused(conv+batchnorm+activation)"
    assert fused("conv") == "conv"
    assert fused_parts("fused(conv_dw+activation)") == ("conv_dw", "activation")
    assert fused_parts("pool") == ("pool",)
    assert is_layer_type("fused(conv+add+activation)")
    assert not is_layer_type("fused(conv+banana)") and not is_layer_type("Conv")
    with pytest.raises(BadInput, match="not a layer type"):
        fused("conv", "Relu")
    with pytest.raises(BadInput):
        fused()
