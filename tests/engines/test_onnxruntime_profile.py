"""ONNX Runtime's per-node profile (``Session.profile``), for real, on tiny models on the CPU."""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from cnnbench.engines import ModelInstance, get_engine  # noqa: E402
from cnnbench.engines.base import EngineLayer  # noqa: E402
from cnnbench.engines.onnxruntime import profile as ort_profile  # noqa: E402
from cnnbench.graph.source import source_onnx  # noqa: E402
from cnnbench.models import create_model  # noqa: E402
from cnnbench.spec import Target  # noqa: E402

SAMPLE = (3, 32, 32)


def _tinynet() -> ModelInstance:
    torch.manual_seed(0)
    return ModelInstance("tinynet", create_model("tinynet"), (1, *SAMPLE))


def _conv_bn_relu() -> ModelInstance:
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=False),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
    ).eval()
    return ModelInstance("test_conv_bn_relu", module, (1, *SAMPLE))


def _prepare(inst: ModelInstance, **target: Any) -> Any:
    return get_engine("onnxruntime")().prepare(inst, Target("onnxruntime", threads=1, **target))


def _inputs(session: Any) -> Any:
    x = np.random.default_rng(0).standard_normal((1, *SAMPLE), dtype=np.float32)
    return session.make_inputs(x)


def _isolated_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """New temporary folders (the profiler's) go under a folder of this test only."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _source_nodes(inst: ModelInstance) -> dict[str, str]:
    graph = onnx.load(str(source_onnx(inst).path), load_external_data=False).graph
    return {n.name: n.op_type for n in graph.node}


def test_tinynet_every_node_once_per_call_and_no_file_left(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inst = _tinynet()
    session = _prepare(inst)
    inputs = _inputs(session)
    folder = _isolated_tmp(monkeypatch, tmp_path)
    wrapped: list[object] = []
    runs = session.profile(inputs, 3, around=lambda call: wrapped.append(call()))
    assert len(wrapped) == 3  # the reported calls went through the wrapper, not the warm-up
    assert list(folder.iterdir()) == []  # profile JSON and its folder deleted
    assert len(runs) == 3
    assert all(isinstance(layer, EngineLayer) for run in runs for layer in run)
    counts = [Counter(layer.name for layer in run) for run in runs]
    assert counts[0] and all(c == counts[0] for c in counts)  # same nodes in every call
    assert all(n == 1 for n in counts[0].values())  # each executed node once per call
    assert [layer.name for layer in runs[1]] == [layer.name for layer in runs[0]]  # same order
    for layer in runs[0]:
        assert layer.op_type and layer.time_us >= 0 and layer.source_layers
        assert layer.kernel and layer.kernel.startswith("CPUExecutionProvider")
    # Every node of the loaded file is attributed to exactly one executed node (fused Conv+Relu
    # list both); the rest are ORT's own layout conversions, under their own names.
    source = _source_nodes(inst)
    attributed = Counter(s for layer in runs[0] for s in layer.source_layers if s in source)
    assert attributed == Counter(list(source)), attributed
    for layer in runs[0]:
        if not set(layer.source_layers) & set(source):
            assert layer.op_type in ("ReorderInput", "ReorderOutput"), layer


def test_fused_nchwc_conv_maps_back_to_conv_and_activation() -> None:
    sources = ort_profile.SourceGraph(
        [
            ("/0/Conv", "Conv", ["x", "w"], ["c"]),
            ("/2/Relu", "Relu", ["c"], ["r"]),
            ("/3/MaxPool", "MaxPool", ["r"], ["m"]),
        ]
    )
    assert sources.sources("r_nchwc", "Conv") == ("/0/Conv", "/2/Relu")
    assert sources.sources("c_nchwc", "Conv") == ("/0/Conv",)
    assert sources.sources("/3/MaxPool", "MaxPool") == ("/3/MaxPool",)
    assert sources.sources("ReorderOutput_token_8", "ReorderOutput") == ("ReorderOutput_token_8",)


def test_conv_bn_relu_batchnorm_folded_at_export() -> None:
    inst = _conv_bn_relu()
    assert "BatchNormalization" not in _source_nodes(inst).values()
    session = _prepare(inst)
    runs = session.profile(_inputs(session), 2)
    for run in runs:
        ops = [layer.op_type for layer in run]
        assert "Conv" in ops or "FusedConv" in ops
        assert "BatchNormalization" not in ops
        assert all("BatchNorm" not in s for layer in run for s in layer.source_layers)


def test_node_times_sum_below_the_wall_time() -> None:
    session = _prepare(_tinynet())
    inputs = _inputs(session)
    start = time.perf_counter()
    runs = session.profile(inputs, 3)
    wall_us = (time.perf_counter() - start) * 1e6
    total = sum(layer.time_us for run in runs for layer in run)
    assert 0 < total < wall_us


def test_profile_file_deleted_on_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    session = _prepare(_tinynet())
    inputs = _inputs(session)
    folder = _isolated_tmp(monkeypatch, tmp_path)

    def broken(text: str) -> Any:
        raise ValueError("unreadable profile")

    monkeypatch.setattr(ort_profile.json, "loads", broken)
    with pytest.raises(ValueError, match="unreadable"):
        session.profile(inputs, 1)
    assert list(folder.iterdir()) == []


def test_split_runs_brackets_nodes_by_model_run() -> None:
    events = [
        {"cat": "Session", "name": "model_run", "ts": 0, "dur": 10},
        {"cat": "Node", "name": "a_kernel_time", "ts": 1, "dur": 2, "args": {"op_name": "Conv"}},
        {"cat": "Node", "name": "a_fence_before", "ts": 1, "dur": 0},
        {"cat": "Session", "name": "model_run", "ts": 20, "dur": 10},
        {"cat": "Node", "name": "a_kernel_time", "ts": 21, "dur": 3, "args": {"op_name": "Conv"}},
    ]
    runs = ort_profile.split_runs(events)
    assert [[e["dur"] for e in run] for run in runs] == [[2], [3]]


def test_a_fused_node_named_after_its_main_node_maps_to_it_and_its_activation() -> None:
    from cnnbench.engines.onnxruntime.profile import SourceGraph

    graph = SourceGraph(
        [
            ("/fc/Gemm", "Gemm", ["x", "w"], ["g"]),
            ("/act/Relu", "Relu", ["g"], ["y"]),
            ("/other/Gemm", "Gemm", ["y", "w2"], ["z"]),
        ]
    )
    assert graph.sources("fused /fc/Gemm", "FusedGemm") == ("/fc/Gemm", "/act/Relu")
    assert graph.sources("fused /other/Gemm", "Gemm") == ("/other/Gemm",)
    assert graph.sources("fused nothing", "FusedGemm") == ("fused nothing",)
