"""Records carry the worker's cost and the parent's roofline; one export serves both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.store.sqlite import Store
from records import PEAKS
from torch_count import torch_count


def test_run_records_carry_cost_and_roofline(tmp_path: Path) -> None:
    from cnnbench.models import get_model_info
    from cnnbench.system.fingerprint import collect

    with Store(tmp_path / "cnnbench.db") as store:
        store.save_peaks(collect(), PEAKS, "2026-01-02T00:00:00")
    args = ["run", "tinynet", "--budget", "0.2", "--threads", "1", "--json", "r.json"]
    assert main(args) == 0
    rec = json.loads(Path("r.json").read_text())[0]
    cost = rec["cost"]
    assert cost["macs"] == 272_544 and cost["flops"] == 2 * 272_544
    assert cost["macs"] == torch_count(get_model_info("tinynet")).macs  # an independent count
    # torch eager runs tinynet's 3 BatchNorms: its cost is of the export that keeps them
    assert cost["activation_bytes"] > 0 and cost["layers"] == 10 + 3
    assert "BatchNorm kept" in cost["source"] and cost["macs_by_type"]
    line = rec["roofline"]
    assert line["bound"] in ("compute", "memory")
    assert line["achieved_gflops"] == pytest.approx(2 * 272_544 * rec["throughput_ips"] / 1e9)
    # One thread against a 2-thread peak of 100 GFLOP/s: scaled to 50 and labelled estimated.
    assert line["peak_gflops"] == pytest.approx(50.0)
    assert line["fraction_of_peak"] == pytest.approx(line["achieved_gflops"] / 50.0)


def test_engine_and_cost_model_share_one_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CNNBENCH_CACHE", str(cache))
    args = ["run", "tinynet", "-e", "onnxruntime", "--budget", "0.2", "--json", "o.json"]
    assert main(args) == 0
    exports = sorted(p.name for p in cache.rglob("*.onnx"))
    assert len(exports) == 1, exports  # the worker's export, reused by the cost model
    assert json.loads(Path("o.json").read_text())[0]["cost"]["macs"] == 272_544


def test_a_figure_above_the_peak_is_a_record_warning() -> None:
    from dataclasses import replace

    from cnnbench.execute.enrich import with_roofline
    from records import make_record

    rec = make_record()  # 2000 FLOPs per image
    fast = replace(rec, throughput_ips=1e9)  # 2000 GFLOP/s against a 100 GFLOP/s peak
    done = with_roofline(fast, PEAKS)
    assert done.roofline.warning is not None
    assert any(w.startswith("above peak") for w in done.warnings)
    assert not any(w.startswith("above peak") for w in with_roofline(rec, PEAKS).warnings)
