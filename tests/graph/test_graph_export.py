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


def test_second_call_reuses_the_file(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnbench.graph.export as export

    exports: list[tuple[int, ...]] = []
    real = export.export_module

    def counting_export(module, shape, path, opset=17, **kw):  # type: ignore[no-untyped-def]
        exports.append(tuple(shape))
        return real(module, shape, path, opset, **kw)

    monkeypatch.setattr(export, "export_module", counting_export)
    build = Counting()
    first = onnx_path("tinynet", (1, 3, 32, 32), build=build)
    stamp = first.stat().st_mtime_ns
    second = onnx_path("tinynet", (1, 3, 32, 32), build=build)
    # The module is built each time (its weights name the file), exported once.
    assert second == first and build.calls == 2 and exports == [(1, 3, 32, 32)]
    assert second.stat().st_mtime_ns == stamp
    assert first.parent == cache / "onnx"
    # a different batch, or opset, is a different file
    batch2 = onnx_path("tinynet", (2, 3, 32, 32), build=build)
    opset13 = onnx_path("tinynet", (1, 3, 32, 32), opset=13, build=build)
    assert len({first, batch2, opset13}) == 3 and len(exports) == 3
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


def test_one_file_per_model_weights_shape_and_opset(cache: Path) -> None:
    import torch

    from cnnbench.graph.export import cache_key, cached_export
    from cnnbench.graph.source import source_onnx
    from cnnbench.models.instance import ModelInstance

    seeded = onnx_path("tinynet", (1, 3, 32, 32))  # what models --detail and listings use
    torch.manual_seed(0)  # the seed every worker builds its module under
    module = create_model("tinynet")
    source = source_onnx(ModelInstance("tinynet", module, (1, 3, 32, 32)))
    assert source.path == seeded  # a run and a listing share one file
    assert seeded.name.endswith(
        f"_{cache_key('tinynet', source.weights_digest or '', (1, 3, 32, 32), 17)}.onnx"
    )
    with torch.no_grad():
        next(module.parameters()).add_(1.0)  # other weights, same name and shape
    other, digest = cached_export(module, "tinynet", (1, 3, 32, 32), opset=17)
    assert other != seeded and digest != source.weights_digest
    assert len(list((cache / "onnx").glob("*.onnx"))) == 2


def test_unfolded_export_keeps_every_batchnorm_and_costs_it() -> None:
    import onnx

    from cnnbench.graph.cost import model_cost
    from cnnbench.graph.export import onnx_path

    folded = onnx_path("resnet18", (1, 3, 64, 64))
    kept = onnx_path("resnet18", (1, 3, 64, 64), fold_bn=False)
    assert folded != kept and "_bn_" in kept.name  # a cache key of its own
    ops = [n.op_type for n in onnx.load(str(kept)).graph.node]
    assert ops.count("BatchNormalization") == 20  # one per conv in resnet18
    assert "BatchNormalization" not in [n.op_type for n in onnx.load(str(folded)).graph.node]
    a = model_cost("resnet18", (3, 64, 64))
    b = model_cost("resnet18", (3, 64, 64), fold_bn=False)
    assert a.macs == b.macs  # folding moves no multiply-accumulate
    bns = [x for x in b.layers if x.layer_type == "batchnorm"]
    assert len(bns) == 20
    for bn in bns:  # scale and shift: 2 FLOPs per output element
        assert bn.flops == 2 * bn.output_bytes // 4
    assert b.flops == a.flops + sum(x.flops for x in bns)
