"""The ONNX export cache: one export per key, atomic, deterministic, self-contained."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
import pytest
from torch import nn

from cnnbench.errors import BadInput
from cnnbench.graph import cache_dir, export_module, network_cost, onnx_path
from cnnbench.models import create_model


class Counting:
    """A build callable that counts its calls."""

    def __init__(self, name: str = "tinynet") -> None:
        self.name = name
        self.calls = 0

    def __call__(self) -> nn.Module:
        self.calls += 1
        return create_model(self.name)


def test_cache_dir_follows_environment(cache: Path) -> None:
    assert cache_dir() == cache / "onnx"


def test_second_call_reuses_the_file(cache: Path) -> None:
    build = Counting()
    first = onnx_path("tinynet", (1, 3, 32, 32), build=build)
    stamp = first.stat().st_mtime_ns
    second = onnx_path("tinynet", (1, 3, 32, 32), build=build)
    assert second == first and build.calls == 1
    assert second.stat().st_mtime_ns == stamp
    assert first.parent == cache / "onnx"
    # a different batch, or opset, is a different file
    batch2 = onnx_path("tinynet", (2, 3, 32, 32), build=build)
    opset13 = onnx_path("tinynet", (1, 3, 32, 32), opset=13, build=build)
    assert len({first, batch2, opset13}) == 3 and build.calls == 3
    assert onnx.load(str(opset13)).opset_import[0].version == 13
    # nothing but finished files: no temporary left behind, no external data
    assert sorted(p.name for p in (cache / "onnx").iterdir()) == sorted(
        p.name for p in (first, batch2, opset13)
    )


def test_default_build_uses_the_registry(cache: Path) -> None:
    path = onnx_path("tinynet", (1, 3, 32, 32))
    assert path.name.startswith("tinynet_1x3x32x32_op17_") and path.suffix == ".onnx"
    with pytest.raises(BadInput, match="unknown model"):
        onnx_path("no_such_net", (1, 3, 32, 32))


def test_graph_is_static_named_and_self_contained(cache: Path) -> None:
    path = onnx_path("tinynet", (4, 3, 32, 32))
    model = onnx.load(str(path), load_external_data=False)
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["output"]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 3, 32, 32]
    assert all(not t.HasField("data_location") or t.data_location == 0
               for t in model.graph.initializer)  # fmt: skip
    ops = [n.op_type for n in model.graph.node]
    # BatchNorm folded into the convs; no Identity/Constant left by the exporter
    assert ops.count("Conv") == 3 and "BatchNormalization" not in ops
    assert "Identity" not in ops and "Constant" not in ops
    assert {"Relu", "MaxPool", "GlobalAveragePool", "Gemm"} <= set(ops)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["cnnbench.exporter"] == "torchscript" and meta["cnnbench.model"] == "tinynet"


def test_export_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = []
    for run in ("a", "b"):
        monkeypatch.setenv("CNNBENCH_CACHE", str(tmp_path / run))
        blobs.append(onnx_path("tinynet", (1, 3, 32, 32)).read_bytes())
    assert blobs[0] == blobs[1]


def test_export_keeps_training_flag_and_bad_shapes(tmp_path: Path) -> None:
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    export_module(module, (1, 3, 8, 8), tmp_path / "m.onnx")
    assert module.training  # exported in eval mode, handed back as it came
    for shape in [(3, 8, 8, 0), (8,), (1, 3, 8.5, 8)]:
        with pytest.raises(BadInput, match="input shape"):
            export_module(module, shape, tmp_path / "bad.onnx")  # type: ignore[arg-type]
    assert not (tmp_path / "bad.onnx").exists()


def test_dynamo_exporter_gives_the_same_macs(tmp_path: Path) -> None:
    ts = export_module(create_model("tinynet"), (1, 3, 32, 32), tmp_path / "ts.onnx")
    dy = export_module(
        create_model("tinynet"), (1, 3, 32, 32), tmp_path / "dy.onnx", exporter="dynamo"
    )
    ts_cost, dy_cost = network_cost(ts), network_cost(dy)
    assert dy_cost.macs == ts_cost.macs and dy_cost.uncounted == ()
    assert dy_cost.by_type["pool"].layers == 2  # MaxPool and ReduceMean over H, W
    assert os.path.getsize(dy) > 0


def test_failed_write_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        onnx_path("tinynet", (1, 3, 32, 32))
    assert list((cache / "onnx").iterdir()) == []  # no half file, no temporary
