"""One small real fit and evaluation: tiny pattern networks profiled on onnxruntime here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.execute.plan import RunRequest, plan
from cnnbench.execute.run import execute
from cnnbench.predict.collect import pattern_name
from cnnbench.spec import Budget
from cnnbench.store.sqlite import Store
from records import this_machine

pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")

NETS = (
    "tinynet",
    pattern_name("standard", 2, 16, 32),
    pattern_name("depthwise_separable", 2, 16, 32),
    pattern_name("bottleneck", 4, 16, 32),
    pattern_name("grouped", 2, 16, 32),
)


@pytest.mark.slow
def test_fit_eval_show_on_tiny_networks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cnnbench.db"
    budget = Budget(seconds=0.1, min_samples=5, warmup_max_s=0.05, profile_calls=2)
    specs = plan(RunRequest(NETS, ("onnxruntime",), modes=("profile",), budget=budget))
    with Store(db) as store:
        done = execute(specs, store, this_machine())
    assert [r.status for r in done.records] == ["ok"] * len(NETS)
    assert main(["predict", "fit", "-e", "onnxruntime", "--db", str(db), "--json", "-"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert fit["networks"] == len(NETS) and fit["with_counters"] == 0
    assert "synergy" in fit["unavailable"]  # no counters measured: said, not zero
    assert Path(fit["path"]).exists()
    plot = tmp_path / "eval.png"
    argv = ["predict", "eval", "-e", "onnxruntime", "--db", str(db), "--json", "-"]
    assert main([*argv, "--plot", str(plot)]) == 0
    ev = json.loads(capsys.readouterr().out)  # stdout stays pure JSON
    assert plot.stat().st_size > 0
    by = {e["by"]: e["predictors"] for e in ev["evaluations"]}
    assert set(by) == {"network", "family"}
    for name in ("per-layer", "macs-only"):
        row = by["network"][name]
        assert row["n"] == len(NETS) and row["mape"] >= 0 and 0 <= row["within_10"] <= 1
        assert {n["model"] for n in row["networks"]} == set(NETS)
    assert by["family"]["synergy"]["n"] == 0 and by["family"]["synergy"]["reason"]
    assert main(["predict", "show", NETS[1], "-e", "onnxruntime", "--json", "-"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["predicted_ms"] > 0 and shown["forced"] is None
    assert shown["fingerprint"]["engine"] == "onnxruntime"
    assert main(["predict", "show", NETS[1], "-e", "torch"]) == 2  # another engine's fit
    assert "--force" in capsys.readouterr().err
    assert main(["predict", "fit", "-e", "onnxruntime", "--db", str(db), "--from-study", "x"]) == 2
