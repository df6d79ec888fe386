"""One-layer sub-models cut from a real export, run with ONNX Runtime against the whole graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from cnnbench.graph.export import cached_export
from cnnbench.graph.slice import activation_inputs, distinct_layers, slice_node
from cnnbench.models import create_model

ort = pytest.importorskip("onnxruntime")


def _export(name: str) -> Path:
    import torch

    torch.manual_seed(0)
    path, _ = cached_export(create_model(name), name, (1, 3, 32, 32), opset=17)
    return path


def _run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def test_repeated_layers_are_grouped_and_a_slice_matches_the_whole_graph() -> None:
    path = _export("pattern/standard?depth=4&width=16")
    full = onnx.load(str(path))
    groups = distinct_layers(full)
    convs = [g for g in groups if g.config.op_type == "Conv"]
    # The stem, then the repeated 16->16 3x3 convolutions of one shape: one group of several.
    assert max(g.count for g in convs) >= 3
    assert sum(g.count for g in groups) == len(full.graph.node)
    repeated = max(convs, key=lambda g: g.count)
    assert "Conv(x[1, 16," in repeated.config.describe()
    target = repeated.nodes[1]
    sliced = slice_node(full, target)
    assert [n.name for n in sliced.graph.node] == [target]
    ((name, shape),) = activation_inputs(sliced)
    # The same tensor out of the whole graph (added as an output) and out of the slice.
    inferred = onnx.shape_inference.infer_shapes(full)
    node = next(n for n in inferred.graph.node if n.name == target)
    probe = onnx.ModelProto()
    probe.CopyFrom(inferred)
    infos = {v.name: v for v in inferred.graph.value_info}
    probe.graph.output.extend([infos[node.input[0]], infos[node.output[0]]])
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32), dtype=np.float32)
    outs = _run(probe, {probe.graph.input[0].name: x})
    layer_in, layer_out = outs[-2], outs[-1]
    assert layer_in.shape == shape
    (got,) = _run(sliced, {name: layer_in})
    np.testing.assert_allclose(got, layer_out, rtol=1e-5, atol=1e-5)
    with pytest.raises(KeyError, match="no node named"):
        slice_node(full, "nope")
