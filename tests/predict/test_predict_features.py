"""Predicted kernels against the cost model: tinynet, and a residual block built here."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from cnnbench.graph.cost import model_cost, network_cost  # noqa: E402
from cnnbench.graph.export import export_module  # noqa: E402
from cnnbench.predict.features import NetworkFeatures, kernels, node_to_kernel  # noqa: E402


def test_tinynet_kernels_sum_to_the_cost_model() -> None:
    cost = model_cost("tinynet")
    found = kernels(cost)
    assert sum(k.macs for k in found) == cost.macs
    assert sum(k.flops for k in found) == cost.flops
    assert sum(k.params for k in found) == cost.params
    assert sorted(n for k in found for n in k.nodes) == sorted(x.name for x in cost.layers)
    kinds = [k.kind for k in found]
    # BN folded at export: conv+ReLU, pool, depthwise+ReLU, pointwise+ReLU, GAP, flatten, fc
    assert kinds[:5] == ["conv", "pool", "conv_dw", "conv_1x1", "pool"]
    assert kinds[-1] == "fc"
    conv, _, dw, pw = found[:4]
    assert (conv.kernel_area, conv.cin, conv.cout, conv.groups, conv.tails) == (9, 3, 8, 1, 1)
    assert (dw.kernel_area, dw.groups, dw.cin, dw.cout, dw.spatial) == (9, 8, 8, 8, 16 * 16)
    assert (pw.kernel_area, pw.cout, pw.tails) == (1, 16, 1)
    relu = next(x for x in cost.layers if x.op_type == "Relu")
    assert conv.tail_bytes == relu.input_bytes + relu.output_bytes
    assert conv.output_bytes == cost.layers[0].output_bytes  # the tail writes no tensor


class _Residual(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.b = torch.nn.Conv2d(8, 8, 3, padding=1, stride=2)
        self.pool = torch.nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.a(x)) + x
        return torch.sigmoid(self.b(y)) + self.pool(y)


def test_residual_add_and_activation_join_the_conv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "res.onnx"
    export_module(_Residual().eval(), (1, 8, 16, 16), path)
    cost = network_cost(path)
    f = NetworkFeatures.of(cost, "res")
    kinds = [(k.kind, k.tails) for k in f.kernels]
    # a + relu + add; then b + sigmoid, the pool, and the final add (its producer is the pool)
    assert kinds[0] == ("conv", 2)
    assert ("conv", 1) in kinds and ("pool", 0) in kinds
    b = next(k for k in f.kernels if k.kind == "conv" and k.tails == 1)
    assert b.stride == 2 and b.spatial == 8 * 8
    owner = node_to_kernel(f.kernels)
    assert len(owner) == len(cost.layers)
    assert f.macs == cost.macs == sum(k.macs for k in f.kernels)
