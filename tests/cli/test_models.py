"""`cnnbench models`: the listing from the cost model (cached) and one model's layers."""

from __future__ import annotations

import json

import pytest

from cnnbench.cli.main import main
from torch_count import torch_count


def test_models_json_counts_with_the_cost_model(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnbench.models import get_model_info

    assert main(["models", "--family", "squeezenet", "--json", "-"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["squeezenet1_0"]["params"] == 1_248_424  # torchvision's documented figure
    assert rows["squeezenet1_1"]["params"] == 1_235_496
    for name, row in rows.items():
        independent = torch_count(get_model_info(name))
        assert row["macs"] == independent.macs  # cost model == torch's own counter
        assert row["conv_layers"] == independent.conv_layers == 26
        assert row["uncounted_ops"] == 0
    # A second listing reads the cached summary: same rows.
    assert main(["models", "--family", "squeezenet", "--json", "-"]) == 0
    assert {r["name"]: r for r in json.loads(capsys.readouterr().out)} == rows


def test_models_detail_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--detail", "tinynet", "--json", "-"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["macs"] == 272_544 and d["flops"] >= 2 * d["macs"]
    assert [layer["type"] for layer in d["layers"] if layer["macs"]] == [
        "conv",
        "conv_dw",
        "conv_1x1",
        "fc",
    ]
    assert all({"name", "op", "type", "macs", "params", "bytes"} <= set(x) for x in d["layers"])
