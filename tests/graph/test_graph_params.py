"""Parameters per consumer: initializers that exporters merged (equal values) or route through
``Identity`` count once per weight slot that reads them, as in the project's own exports."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from cnnbench.graph import export_module, network_cost


class ZeroBiases(nn.Module):
    """Two convolutions with all-zero biases and two fresh BatchNorms (equal scale and shift
    vectors): what exporters de-duplicate into one initializer each."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        for conv in (self.a, self.b):
            nn.init.zeros_(conv.bias)
        self.bn1 = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(torch.relu(self.b(self.bn1(torch.relu(self.a(x))))))


# Conv a (weight, bias) + conv b (weight, bias) + two BatchNorms of four 4-vectors each (a
# BatchNorm after a ReLU is not folded).
ZERO_BIASES_PARAMS = (4 * 3 * 9 + 4) + (4 * 4 * 9 + 4) + 2 * 4 * 4


def test_exporter_dedup_through_identity_counts_per_consumer(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = ZeroBiases().eval()
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(1, 3, 8, 8),), buffer, dynamo=False)  # type: ignore[arg-type]
    raw = onnx.load_model_from_string(buffer.getvalue())
    # The reproduction: the exporter merged equal tensors and copies them through Identity.
    assert sum(n.op_type == "Identity" for n in raw.graph.node) >= 4
    layers = [n for n in raw.graph.node if n.op_type in ("Conv", "BatchNormalization")]
    slots = sum(len(n.input) - 1 for n in layers)
    assert len(raw.graph.initializer) < slots
    cost = network_cost(raw)
    assert cost.params == ZERO_BIASES_PARAMS
    assert cost.weight_bytes == 4 * ZERO_BIASES_PARAMS
    bns = [x for x in cost.layers if x.op_type == "BatchNormalization"]
    assert [x.params for x in bns] == [16, 16]
    # The project's own export (the merge undone) gives the same figure, as before.
    own = network_cost(export_module(module, (1, 3, 8, 8), tmp_path / "own.onnx", 17))
    assert own.params == ZERO_BIASES_PARAMS and own.weight_bytes == cost.weight_bytes


def _shared_initializers() -> onnx.ModelProto:
    """Two Convs read one zero bias directly; a BatchNorm reads it twice and a ones vector
    through a chain of two Identity nodes."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.standard_normal((4, 4, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(np.zeros(4, np.float32), "zeros"),
        numpy_helper.from_array(np.ones(4, np.float32), "ones"),
    ]
    nodes = [
        helper.make_node("Identity", ["ones"], ["ones_1"]),
        helper.make_node("Identity", ["ones_1"], ["scale"]),
        helper.make_node("Conv", ["x", "w1", "zeros"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["c1", "w2", "zeros"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c2", "scale", "zeros", "zeros", "ones"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "shared", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_shared_initializers_count_per_consuming_slot() -> None:
    cost = network_cost(_shared_initializers())
    per_layer = {x.op_type: x.params for x in cost.layers if x.op_type != "Conv"}
    convs = [x.params for x in cost.layers if x.op_type == "Conv"]
    assert convs == [4 * 3 * 9 + 4, 4 * 4 * 9 + 4]
    assert per_layer == {"Identity": 0, "BatchNormalization": 4 * 4}
    assert cost.params == (4 * 3 * 9 + 4) + (4 * 4 * 9 + 4) + 4 * 4  # 276; once per tensor: 260
    assert cost.weight_bytes == 4 * cost.params
    assert cost.complete and cost.macs == 64 * 4 * (3 * 9 + 4 * 9)


def test_integer_constants_behind_identity_are_not_parameters() -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.INT64, None)
    extra = numpy_helper.from_array(np.array([2, 12], np.int64), "extra")
    nodes = [
        helper.make_node("Identity", ["extra"], ["extra_1"]),
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Concat", ["s", "extra_1"], ["y"], axis=0),  # every input a weight slot
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "ints", [x], [y], [extra]),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    cost = network_cost(model)
    assert cost.params == 0 and cost.weight_bytes == 0 and cost.complete
