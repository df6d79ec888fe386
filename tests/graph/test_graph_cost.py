"""Closed-form MAC, FLOP and parameter counts of single-layer networks through the exporter."""

from __future__ import annotations

import json

import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbench.errors import BadInput
from cnnbench.graph import LayerCost, NetworkCost, network_cost
from cnnbench.graph._ops import conv_output_spatial


def only(cost: NetworkCost, op_type: str) -> LayerCost:
    found = [layer for layer in cost.layers if layer.op_type == op_type]
    assert len(found) == 1, [layer.op_type for layer in cost.layers]
    return found[0]


def conv_macs(cout: int, hout: int, wout: int, cin: int, groups: int, kh: int, kw: int) -> int:
    return cout * hout * wout * (cin // groups) * kh * kw


# (module, input shape, expected output H, W, expected layer type)
CONVS = {
    "plain3x3": (nn.Conv2d(3, 8, 3), (1, 3, 16, 16), (14, 14), "conv"),
    "strided": (nn.Conv2d(4, 6, 3, stride=2), (1, 4, 17, 17), (8, 8), "conv"),
    "padded": (nn.Conv2d(4, 6, 5, padding=2), (1, 4, 10, 12), (10, 12), "conv"),
    "dilated": (nn.Conv2d(4, 6, 3, dilation=2, padding=1), (1, 4, 16, 16), (14, 14), "conv"),
    "asymmetric": (nn.Conv2d(4, 6, (1, 7), padding=(0, 3)), (2, 4, 9, 9), (9, 9), "conv"),
    "grouped": (nn.Conv2d(8, 16, 3, padding=1, groups=4), (1, 8, 12, 12), (12, 12), "conv_group"),
    "depthwise": (nn.Conv2d(8, 8, 3, padding=1, groups=8), (1, 8, 12, 12), (12, 12), "conv_dw"),
    "depthwise_x2": (nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=8), (1, 8, 12, 12), (6, 6),
                     "conv_dw"),
    "pointwise": (nn.Conv2d(8, 16, 1), (3, 8, 7, 7), (7, 7), "conv_1x1"),
    "pointwise_strided": (nn.Conv2d(8, 16, 1, stride=2), (1, 8, 8, 8), (4, 4), "conv_1x1"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONVS))
def test_conv_macs_params_and_type(cost_of, case: str) -> None:
    module, shape, (hout, wout), layer_type = CONVS[case]
    conv = only(cost_of(module, shape), "Conv")
    batch, cin = shape[0], shape[1]
    kh, kw = module.kernel_size
    expected = batch * conv_macs(module.out_channels, hout, wout, cin, module.groups, kh, kw)
    assert conv.macs == expected
    assert conv.flops == 2 * expected
    assert conv.params == sum(p.numel() for p in module.parameters())
    assert conv.weight_bytes == 4 * conv.params
    assert conv.output_shapes == ((batch, module.out_channels, hout, wout),)
    assert conv.input_bytes == 4 * batch * cin * shape[2] * shape[3]
    assert conv.output_bytes == 4 * batch * module.out_channels * hout * wout
    assert conv.layer_type == layer_type
    ai = conv.arithmetic_intensity
    assert ai == pytest.approx(
        conv.flops / (conv.weight_bytes + conv.input_bytes + conv.output_bytes)
    )


def test_conv3d_and_conv1d_generalise(cost_of) -> None:
    c3 = only(cost_of(nn.Conv3d(2, 4, 3, bias=False), (1, 2, 5, 6, 7)), "Conv")
    assert c3.macs == 4 * 3 * 4 * 5 * 2 * 27 and c3.params == 4 * 2 * 27
    c1 = only(cost_of(nn.Conv1d(2, 4, 3, stride=2), (1, 2, 11)), "Conv")
    assert c1.macs == 4 * 5 * 2 * 3


def test_conv_transpose_matches_torch(cost_of) -> None:
    module = nn.ConvTranspose2d(4, 6, 3, stride=2)
    layer = only(cost_of(module, (1, 4, 5, 5)), "ConvTranspose")
    # Each of the 4 x 5 x 5 input elements meets Cout x 3 x 3 weights.
    assert layer.macs == 4 * 5 * 5 * 6 * 9
    assert layer.output_shapes == ((1, 6, 11, 11),)
    assert layer.layer_type == "conv"
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, 4, 5, 5))
    assert layer.flops == counter.get_total_flops()


def test_auto_pad_same_upper_and_fallback_formula() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 9, 9])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(torch.ones(3, 2, 3, 3).numpy(), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")
    model = helper.make_model(helper.make_graph([node], "g", [x], [y], [w]))
    conv = only(network_cost(model), "Conv")
    assert conv.output_shapes == ((1, 3, 5, 5),)
    assert conv.macs == 3 * 5 * 5 * 2 * 9
    # The formula used when inference leaves an output shape unknown agrees with torch.
    assert conv_output_spatial([9, 9], [3, 3], strides=[2, 2], auto_pad="SAME_UPPER") == (5, 5)
    assert conv_output_spatial([16], [3], pads=[1, 1], dilations=[2]) == (14,)
    assert conv_output_spatial([10], [5], strides=[3], auto_pad="VALID") == (2,)


def test_linear_is_gemm(cost_of) -> None:
    gemm = only(cost_of(nn.Linear(32, 10), (4, 32)), "Gemm")
    assert gemm.macs == 4 * 32 * 10
    assert gemm.params == 32 * 10 + 10
    assert gemm.layer_type == "fc"


class WeightMatMul(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(16, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.weight)


class SelfMatMul(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, x.transpose(1, 2))


def test_matmul(cost_of) -> None:
    layer = only(cost_of(WeightMatMul(), (2, 3, 16)), "MatMul")
    assert layer.macs == 2 * 3 * 5 * 16 and layer.params == 16 * 5
    assert layer.layer_type == "fc"
    attention = only(cost_of(SelfMatMul(), (2, 3, 16)), "MatMul")
    assert attention.macs == 2 * 3 * 3 * 16 and attention.params == 0


def test_batchnorm_after_conv_is_folded(cost_of) -> None:
    cost = cost_of(nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)), (1, 3, 8, 8))
    assert [layer.op_type for layer in cost.layers] == ["Conv"]
    conv = cost.layers[0]
    assert conv.params == 4 * 3 * 9 + 4  # the folded BatchNorm became the bias
    assert conv.macs == 4 * 6 * 6 * 3 * 9


def test_batchnorm_alone_stays(cost_of) -> None:
    bn = only(cost_of(nn.BatchNorm2d(3), (2, 3, 8, 8)), "BatchNormalization")
    assert bn.macs == 0
    assert bn.flops == 2 * 2 * 3 * 8 * 8
    assert bn.params == 4 * 3  # scale, bias, running mean and variance: all read
    assert bn.layer_type == "batchnorm"


def test_pooling(cost_of) -> None:
    shape = (1, 4, 16, 16)
    mx = only(cost_of(nn.MaxPool2d(3, stride=2, padding=1), shape), "MaxPool")
    assert (mx.macs, mx.flops, mx.params) == (0, 4 * 8 * 8 * 9, 0)
    avg = only(cost_of(nn.AvgPool2d(2), shape), "AveragePool")
    assert avg.flops == 4 * 8 * 8 * 4
    glob = only(cost_of(nn.AdaptiveAvgPool2d(1), shape), "GlobalAveragePool")
    assert glob.flops == 4 * 16 * 16 and glob.output_shapes == ((1, 4, 1, 1),)
    assert {mx.layer_type, avg.layer_type, glob.layer_type} == {"pool"}


class Block(nn.Module):
    """Relu, Clip (ReLU6), HardSwish, Sigmoid, Add, Mul, Concat, Flatten and Softmax."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(x)
        b = nn.functional.relu6(x)
        c = nn.functional.hardswish(x) * torch.sigmoid(x)
        y = torch.cat([a + b, c], dim=1)
        return torch.softmax(torch.flatten(y, 1), dim=1)


def test_elementwise_and_free_ops(cost_of) -> None:
    cost = cost_of(Block(), (2, 3, 4, 4))
    n = 2 * 3 * 4 * 4
    flops = {layer.op_type: layer.flops for layer in cost.layers}
    types = {layer.op_type: layer.layer_type for layer in cost.layers}
    assert flops == {
        "Relu": n, "Clip": 2 * n, "HardSwish": 5 * n, "Sigmoid": 4 * n, "Mul": n, "Add": n,
        "Concat": 0, "Flatten": 0, "Softmax": 5 * 2 * n,
    }  # fmt: skip
    assert types == {
        "Relu": "activation", "Clip": "activation", "HardSwish": "activation",
        "Sigmoid": "activation", "Mul": "add", "Add": "add", "Concat": "concat",
        "Flatten": "reshape", "Softmax": "activation",
    }  # fmt: skip
    assert cost.macs == 0 and cost.params == 0  # Clip's bounds are not parameters
    assert cost.uncounted == ()
    concat = only(cost, "Concat")
    assert concat.input_bytes == 2 * 4 * n and concat.output_bytes == 4 * 2 * n


def _einsum_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])
    w = numpy_helper.from_array(torch.ones(3, 4).numpy(), "w")
    nodes = [
        helper.make_node("Einsum", ["x", "w"], ["e"], equation="ij,jk->ik", name="mix"),
        helper.make_node("Relu", ["e"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "einsum", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_unknown_op_is_uncounted_never_zero(tmp_path) -> None:
    path = tmp_path / "einsum.onnx"
    onnx.save(_einsum_model(), str(path))
    cost = network_cost(path)
    einsum = only(cost, "Einsum")
    assert einsum.macs is None and einsum.flops is None and not einsum.counted
    assert "Einsum" in (einsum.uncounted_reason or "")
    assert cost.uncounted == ("Einsum",)
    assert "uncounted" in cost.summary() and "Einsum x1" in cost.summary()
    assert cost.flops == 2 * 4  # the Relu only
    assert cost.to_dict()["uncounted"] == ["Einsum"]
    assert einsum.layer_type == "other"


def test_network_totals_and_dict(cost_of) -> None:
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                           nn.Linear(8 * 8 * 8, 10))  # fmt: skip
    cost = cost_of(module, (2, 3, 8, 8))
    conv_part = 2 * conv_macs(8, 8, 8, 3, 1, 3, 3)
    assert cost.macs == conv_part + 2 * 512 * 10
    assert cost.macs_per_image == cost.macs / 2
    assert cost.batch == 2 and cost.input_shape == (2, 3, 8, 8)
    assert cost.params == sum(p.numel() for p in module.parameters())
    assert cost.weight_bytes == 4 * cost.params
    # input, conv output, relu output, flatten output, gemm output
    assert cost.activation_bytes == 4 * 2 * (3 * 64 + 3 * 512 + 10)
    assert cost.by_type["conv"].mac_share == pytest.approx(conv_part / cost.macs)
    assert cost.by_type["activation"].layers == 1
    data = json.loads(json.dumps(cost.to_dict()))
    assert data["macs"] == cost.macs and len(data["layers"]) == 4
    assert "layers" not in cost.to_dict(layers=False)


def test_missing_file_is_bad_input(tmp_path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        network_cost(tmp_path / "nope.onnx")


def test_dynamic_batch_is_uncounted_not_zero() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 5, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(torch.ones(3, 2, 3, 3).numpy(), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    cost = network_cost(helper.make_model(helper.make_graph([node], "g", [x], [y], [w])))
    conv = only(cost, "Conv")
    assert conv.macs is None and "shape unknown" in (conv.uncounted_reason or "")
    assert cost.uncounted == ("Conv",) and conv.params == 3 * 2 * 9
    assert cost.shapes == "partial" and not cost.complete and cost.uncounted_nodes == 1
    assert "no static shape to run the graph at" in (cost.shapes_note or "")
