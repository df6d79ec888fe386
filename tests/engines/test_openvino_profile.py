"""OpenVINO's PERF_COUNT profile, for real (no mocks), on tiny networks on the CPU."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openvino")

from cnnbench.engines import ModelInstance, get_engine
from cnnbench.engines.base import EngineLayer
from cnnbench.engines.openvino import profile as ovprof
from cnnbench.engines.openvino.engine import OpenVinoSession
from cnnbench.errors import BadInput
from cnnbench.graph.source import source_onnx
from cnnbench.spec import Target

SHAPE = (1, 3, 32, 32)
CALLS = 3
COMPUTE = {"Convolution", "GroupConvolution", "FullyConnected", "MatMul", "Deconvolution"}


def _prepare(instance: ModelInstance) -> OpenVinoSession:
    session = get_engine("openvino")().prepare(instance, Target("openvino", threads=1))
    assert isinstance(session, OpenVinoSession)
    return session


def _onnx_nodes(instance: ModelInstance) -> dict[str, str]:
    """Node name -> op type of the ONNX graph the engine loaded."""
    import onnx

    graph = onnx.load(str(source_onnx(instance).path), load_external_data=False).graph
    return {node.name: node.op_type for node in graph.node}


@pytest.fixture(scope="module")
def tiny() -> tuple[ModelInstance, OpenVinoSession, Any]:
    import torch

    from cnnbench.models import create_model

    torch.manual_seed(0)
    instance = ModelInstance("tinynet", create_model("tinynet").eval(), SHAPE)
    session = _prepare(instance)
    array = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    return instance, session, session.make_inputs(array)


@pytest.fixture(scope="module")
def conv_bn_relu() -> tuple[ModelInstance, OpenVinoSession, Any]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()).eval()
    with torch.no_grad():  # non-trivial statistics, so folding them is not a no-op
        bn = module[1]
        assert isinstance(bn, nn.BatchNorm2d)
        assert bn.running_mean is not None and bn.running_var is not None
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    instance = ModelInstance("conv_bn_relu", module, SHAPE)
    session = _prepare(instance)
    array = np.random.default_rng(1).standard_normal(SHAPE, dtype=np.float32)
    return instance, session, session.make_inputs(array)


def test_tinynet_every_executed_node_once_per_call(
    tiny: tuple[ModelInstance, OpenVinoSession, Any],
) -> None:
    instance, session, inputs = tiny
    wrapped: list[object] = []
    calls = session.profile(inputs, CALLS, around=lambda call: wrapped.append(call()))
    assert len(calls) == CALLS and len(wrapped) == CALLS  # each reported call, wrapped
    names = [layer.name for layer in calls[0]]
    assert names and len(names) == len(set(names))  # none counted twice
    for call in calls:
        assert all(isinstance(layer, EngineLayer) for layer in call)
        assert [layer.name for layer in call] == names  # the same nodes, same order, each call
        assert all(layer.time_us >= 0 and layer.calls == 1 for layer in call)
        assert all(layer.cpu_time_us is not None for layer in call)
        assert all(layer.kernel for layer in call)
        assert sum(layer.time_us for layer in call) > 0

    onnx_nodes = _onnx_nodes(instance)
    compute = [layer for layer in calls[0] if layer.op_type in COMPUTE]
    assert len(compute) == 4  # three convolutions and the classifier
    for layer in compute:
        assert layer.source_layers, layer
        assert set(layer.source_layers) <= set(onnx_nodes), layer
    for layer in calls[0]:  # every source layer named is an ONNX node
        assert set(layer.source_layers) <= set(onnx_nodes), layer
    # Every Conv and Gemm of the ONNX graph is executed somewhere (none lost).
    covered = {s for layer in calls[0] for s in layer.source_layers}
    assert {n for n, t in onnx_nodes.items() if t in ("Conv", "Gemm")} <= covered
    # The timed session is untouched and still gives the same answer.
    assert session.to_numpy(session.run(inputs)).ndim == 2


def test_conv_bn_relu_folded_and_fused(
    conv_bn_relu: tuple[ModelInstance, OpenVinoSession, Any],
) -> None:
    instance, session, inputs = conv_bn_relu
    onnx_nodes = _onnx_nodes(instance)
    assert "BatchNormalization" not in onnx_nodes.values()  # folded at export
    (call,) = session.profile(inputs, 1)
    sources = {s for layer in call for s in layer.source_layers}
    assert sources <= set(onnx_nodes)
    assert not any(onnx_nodes[s] == "BatchNormalization" for s in sources)
    convs = [layer for layer in call if layer.op_type == "Convolution"]
    assert len(convs) == 1
    (conv,) = convs
    kinds = sorted(onnx_nodes[s] for s in conv.source_layers)
    assert kinds == ["Conv", "Relu"]  # conv + relu fused into one executed node
    assert not any(layer.op_type == "Relu" for layer in call)  # no separate Relu executed


def test_node_times_below_wall_time(tiny: tuple[ModelInstance, OpenVinoSession, Any]) -> None:
    """A property, not a threshold: the profiler's node times fit inside the infer call."""
    import openvino as ov

    instance, session, inputs = tiny
    profiled = ovprof.ProfiledRequest(
        ov.Core(),
        session._source_model,
        session.device,
        session._config,
        source_onnx(instance).path,
        inputs,
    )
    for _ in range(CALLS):
        start = time.perf_counter()
        profiled.infer()
        wall_us = (time.perf_counter() - start) * 1e6
        total = sum(layer.time_us for layer in profiled.layers())
        assert 0 < total < wall_us

    # The same through the session: all profiled calls' node times fit in profile()'s wall time.
    start = time.perf_counter()
    calls = session.profile(inputs, CALLS)
    wall_us = (time.perf_counter() - start) * 1e6
    assert 0 < sum(layer.time_us for call in calls for layer in call) < wall_us


def test_profile_needs_a_call(tiny: tuple[ModelInstance, OpenVinoSession, Any]) -> None:
    _, session, inputs = tiny
    with pytest.raises(BadInput):
        session.profile(inputs, 0)
