"""``cnnbench profile``: per-layer time on every engine, by type, with the overhead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnbench.cli.main import main


def test_profile_every_engine_by_type_and_layer(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["profile", "tinynet", "-e", "torch", "-e", "onnxruntime", "-e", "openvino"]
    assert main([*args, "--threads", "1", "--calls", "3", "--json", "p.json"]) == 0
    profiles = json.loads(Path("p.json").read_text())
    assert [p["engine"] for p in profiles] == ["torch", "onnxruntime", "openvino"]
    for p in profiles:
        assert p["status"] == "ok" and p["threads"] == 1 and p["profiled_calls"] == 3
        layer_ms = sum(x["time_ms"] for x in p["layers"])
        assert p["layers_ms"] == pytest.approx(layer_ms)
        assert sum(t["time_ms"] for t in p["by_type"].values()) == pytest.approx(layer_ms)
        assert p["overhead_ms"] == pytest.approx(p["end_to_end_ms"] - layer_ms)
        assert all(x["calls"] == 3 for x in p["layers"])  # every node in every profiled call
        flops = [t["flops_share"] for t in p["by_type"].values() if t["flops_share"] is not None]
        assert sum(flops) == pytest.approx(1.0)
    torch_types = {x["layer_type"] for x in profiles[0]["layers"]}
    assert "batchnorm" in torch_types  # eager torch runs BatchNorm as its own layer
    for p in profiles[1:]:  # folded at export: the ONNX engines never see it
        assert "batchnorm" not in {x["layer_type"] for x in p["layers"]}
        assert "folded" in p["bn_note"]
    assert "overhead" in capsys.readouterr().out
