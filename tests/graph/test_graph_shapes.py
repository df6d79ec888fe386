"""Shapes static inference cannot give (``chunk``, ``tensor_split``), found by running the graph
once; totals that say ``>=`` whenever something stays uncounted."""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from cnnbench.graph import NetworkCost, export_module, network_cost
from cnnbench.report.listings import detail_json, layer_tables, models_table

EXECUTED = "executed (onnxruntime)"


class ChunkBlock(nn.Module):
    """A ShuffleNet-v2 unit in small: split the channels, convolve one half, concatenate."""

    def __init__(self, split: str) -> None:
        super().__init__()
        self.split = split
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.c = nn.Conv2d(4, 4, 1)
        self.out = nn.Conv2d(8, 6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split == "chunk":
            x1, x2 = x.chunk(2, dim=1)
        else:
            x1, x2 = torch.tensor_split(x, 2, dim=1)
        y = torch.cat([x1, self.c(self.b(torch.relu(self.a(x2))))], dim=1)
        return self.out(y)


def chunk_macs(n: int, h: int, w: int) -> int:
    """Closed form of :class:`ChunkBlock` on an (n, 8, h, w) input: four convolutions."""
    pixels = n * h * w
    return pixels * (4 * 4 * 9 + 4 * 9 + 4 * 4 + 6 * 8)


def chunk_params() -> int:
    return (4 * 4 * 9 + 4) + (4 * 9 + 4) + (4 * 4 + 4) + (6 * 8 + 6)


@pytest.fixture(params=["chunk", "tensor_split"])
def chunk_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / f"{request.param}.onnx"
    return export_module(ChunkBlock(request.param), (2, 8, 10, 12), path, 17)


def test_static_inference_fails_on_a_channel_split(chunk_file: Path) -> None:
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(chunk_file)), data_prop=True)
    known = {
        v.name
        for v in inferred.graph.value_info
        if v.type.tensor_type.HasField("shape")
        and all(d.HasField("dim_value") for d in v.type.tensor_type.shape.dim)
    }
    convs = [n for n in inferred.graph.node if n.op_type == "Conv"]
    assert len(convs) == 4 and any(c.input[0] not in known for c in convs)
    static = network_cost(chunk_file, execute=False)
    assert static.shapes == "partial" and not static.complete and static.unknown_shapes > 0
    assert "the graph was not run" in (static.shapes_note or "")
    assert "tensor shapes unknown (bytes >=)" in static.totals()
    if chunk_file.stem == "chunk":  # Slice: the convolutions after it have no shape
        assert static.macs < chunk_macs(2, 10, 12)  # what the cost model used to report
        assert static.uncounted_nodes >= 1 and "Conv" in static.uncounted
        assert static.totals().startswith(">= ") and "uncounted" in static.totals()
    else:  # SequenceAt keeps the rank: Conv outputs are inferred, activation bytes are not
        assert static.macs == chunk_macs(2, 10, 12) and static.uncounted_nodes == 0
        assert not static.totals().startswith(">=")


def test_executed_shapes_give_the_closed_form(chunk_file: Path) -> None:
    pytest.importorskip("onnxruntime")
    cost = network_cost(chunk_file)
    assert cost.shapes == EXECUTED and cost.shapes_note is None
    assert cost.complete and cost.uncounted_nodes == 0 and cost.unknown_shapes == 0
    assert cost.macs == chunk_macs(2, 10, 12)
    assert cost.flops >= 2 * cost.macs
    assert cost.params == chunk_params()
    convs = [x for x in cost.layers if x.op_type == "Conv"]
    assert [x.output_shapes[0] for x in convs] == [(2, 4, 10, 12)] * 3 + [(2, 6, 10, 12)]
    assert not cost.totals().startswith(">=")
    assert "shapes executed (onnxruntime)" in cost.summary().splitlines()[0]
    d = detail_json(cost)
    assert d["complete"] is True and d["shapes"] == EXECUTED and d["uncounted_nodes"] == 0


def test_without_onnxruntime_the_shapes_are_partial(
    chunk_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    cost = network_cost(chunk_file)
    assert cost.shapes == "partial" and not cost.complete
    assert "onnxruntime is not importable" in (cost.shapes_note or "")
    assert cost.unknown_shapes > 0 and cost.params == chunk_params()  # weights need no shape
    head = cost.summary().splitlines()[0]
    assert "tensor shapes unknown" in head and "shapes partial" in head


def _conv_then_einsums() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(torch.ones(4, 3, 3, 3).numpy(), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Einsum", ["c"], ["e"], equation="nchw->nhwc", name="e1"),
        helper.make_node("Einsum", ["e"], ["y"], equation="nhwc->nchw", name="e2"),
    ]
    graph = helper.make_graph(nodes, "einsums", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_uncounted_nodes_make_every_total_a_lower_bound() -> None:
    cost = network_cost(_conv_then_einsums())
    assert cost.shapes == "static" and cost.unknown_shapes == 0
    assert cost.uncounted_nodes == 2 and cost.uncounted == ("Einsum",) and not cost.complete
    assert cost.macs == 4 * 6 * 6 * 3 * 9
    assert cost.totals() == ">= 3.888 kMACs, 2 nodes uncounted"
    head = cost.summary().splitlines()[0]
    assert head.startswith("einsums 1x3x8x8: >= 3.888 kMACs (>= 3.888 kMACs per image), >= ")
    assert head.endswith("; 2 nodes uncounted")
    d = detail_json(cost)
    assert d["complete"] is False and d["uncounted_nodes"] == 2
    assert d["totals"] == ">= 3.888 kMACs, 2 nodes uncounted"
    assert [x["uncounted_reason"] is not None for x in d["layers"]] == [False, True, True]
    table, types = layer_tables(cost)
    assert str(table.title).startswith("einsums 1x3x8x8: >= ")
    assert "lower bounds" in str(table.caption) and "Einsum x2" in str(table.caption)
    assert "counted nodes only" in str(types.title)


def test_a_graph_onnxruntime_cannot_run_stays_partial_with_the_reason() -> None:
    pytest.importorskip("onnxruntime")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(torch.ones(4, 3, 1, 1).numpy(), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Mystery", ["c"], ["m"], domain="com.example", name="mystery"),
        helper.make_node("Relu", ["m"], ["y"], name="relu"),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "mystery", [x], [y], [w]),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    cost = network_cost(model)
    assert cost.shapes == "partial" and not cost.complete
    assert "onnxruntime could not run the graph" in (cost.shapes_note or "")
    assert cost.uncounted_nodes == 2  # Mystery (no formula), Relu (no output shape)
    assert cost.macs == 4 * 64 * 3 and cost.totals().startswith(">= 768 MACs, 2 nodes")
    assert len(model.graph.output) == 1  # the caller's model is left as it was


def test_complete_cost_of_a_plain_network_is_unchanged(cost_of) -> None:
    cost: NetworkCost = cost_of(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), (1, 3, 8, 8))
    assert cost.shapes == "static" and cost.complete and cost.shapes_note is None
    assert cost.totals() == "3.888 kMACs"
    assert cost.summary().splitlines()[0].endswith(" 2 layers")


def test_models_listing_marks_a_lower_bound() -> None:
    row = {"name": "n", "family": "f", "input_shape": [3, 8, 8], "dataset": "d", "params": 10,
           "macs": 3_888_000_000, "conv_layers": 1, "fc_layers": 0}  # fmt: skip
    exact = list(models_table([{**row, "complete": True}]).columns[5].cells)
    bound = list(models_table([{**row, "complete": False}]).columns[5].cells)
    assert (exact, bound) == (["3.888"], [">= 3.888"])
