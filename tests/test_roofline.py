"""Roofline arithmetic, peak caching (schema migration), and the models listing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.results.roofline import roofline
from cnnbench.store.sqlite import SCHEMA_V1, Store
from cnnbench.system.peaks import measure_peaks
from torch_count import torch_count

PEAKS = [
    {
        "kind": "compute",
        "precision": "fp32",
        "value": 100.0,
        "unit": "GFLOP/s",
        "threads": 2,
        "method": "torch.mm 2048x2048",
    },
    {
        "kind": "memory",
        "precision": "-",
        "value": 20.0,
        "unit": "GB/s",
        "threads": 2,
        "method": "copy of 512 MiB",
    },
]


def test_compute_bound_network() -> None:
    # 8 GFLOP per image at 5 images/s = 40 GFLOP/s; intensity 8e9 / 1e8 B = 80 > ridge 5.
    r = roofline(
        flops_per_image=8e9,
        bytes_per_image=1e8,
        images_per_s=5,
        precision="fp32",
        threads=2,
        peaks=PEAKS,
    )
    assert r.achieved_gflops == pytest.approx(40)
    assert r.fraction_of_peak == pytest.approx(0.4)
    assert r.ridge_point == pytest.approx(5)
    assert r.bound == "compute" and r.attainable_gflops == 100
    assert r.source.startswith("measured")


def test_memory_bound_network_and_thread_scaling() -> None:
    r = roofline(
        flops_per_image=1e6,
        bytes_per_image=1e6,
        images_per_s=1000,
        precision="fp32",
        threads=1,
        peaks=PEAKS,
    )
    assert r.bound == "memory"
    assert r.peak_gflops == pytest.approx(50)  # scaled 2 -> 1 thread, and it says so
    assert r.source.startswith("estimated")
    assert r.attainable_gflops == pytest.approx(20)  # intensity 1 x 20 GB/s


def test_missing_peaks_or_precision_is_explicit() -> None:
    none = roofline(
        flops_per_image=1e9,
        bytes_per_image=1e8,
        images_per_s=1,
        precision="fp32",
        threads=2,
        peaks=[],
    )
    assert none.source == "none" and "info --peaks" in none.reason
    bf16 = roofline(
        flops_per_image=1e9,
        bytes_per_image=1e8,
        images_per_s=1,
        precision="bf16",
        threads=2,
        peaks=PEAKS,
    )
    assert "no bf16 peak" in bf16.source


def test_peak_entry_measures_positive_figures() -> None:
    result = measure_peaks({"matmul_n": 256, "copy_bytes": 8 * 2**20})
    kinds = {(p["kind"], p["precision"]) for p in result["peaks"]}
    assert kinds == {("compute", "fp32"), ("compute", "bf16"), ("memory", "-")}
    assert all(p["value"] > 0 for p in result["peaks"])


def test_v1_store_migrates_to_v2_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("PRAGMA application_id = 1668181602")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO machines VALUES ('m1', '{\"id\": \"m1\"}', '2026-01-01T00:00:00')")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.machines() == [{"id": "m1"}]
        store.save_peaks({"id": "m1"}, PEAKS, "2026-01-02T00:00:00")
        assert [p["kind"] for p in store.peaks("m1")] == ["compute", "memory"]
        assert store.peaks("other") == []


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
    assert cost["activation_bytes"] > 0 and cost["layers"] == 10
    line = rec["roofline"]
    assert line["bound"] in ("compute", "memory")
    assert line["achieved_gflops"] == pytest.approx(2 * 272_544 * rec["throughput_ips"] / 1e9)
    # One thread against a 2-thread peak of 100 GFLOP/s: scaled to 50 and labelled estimated.
    assert line["peak_gflops"] == pytest.approx(50.0)
    assert line["fraction_of_peak"] == pytest.approx(line["achieved_gflops"] / 50.0)


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
