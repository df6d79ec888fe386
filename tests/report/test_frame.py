"""Results as data: ``cnnbench.load_results`` (a DataFrame) and ``results export --format csv``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from report_records import latency_record, throughput_record

import cnnbench
from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.report.frame import COLUMNS
from cnnbench.store.sqlite import Store
from records import make_record


@pytest.fixture
def store(tmp_path: Path) -> Path:
    db = tmp_path / "cnnbench.db"
    with Store(db) as s:
        s.save_many(
            [
                latency_record("m1", "torch", 10.0, seed=1, warnings=("noise: high CV",)),
                latency_record("m1", "openvino", 5.0, seed=2),
                throughput_record("m2", "torch", 1.0),
                make_record(status="oom"),
            ]
        )
    return db


def test_load_results_one_flat_row_per_record(store: Path) -> None:
    pytest.importorskip("pandas")
    df = cnnbench.load_results(store)
    assert list(df.columns) == list(COLUMNS) and len(df) == 4
    assert all(
        c in df.columns for c in ("median_ms", "ci95_lo_ms", "throughput_ips", "gflops_per_s")
    )
    m1 = df[(df.model == "m1") & (df.engine == "torch")].iloc[0]
    assert m1.median_ms == pytest.approx(10.0, rel=0.02)
    assert m1.ci95_lo_ms < m1.median_ms < m1.ci95_hi_ms and m1.n == 200
    assert m1.warnings == "noise: high CV" and m1.target == "torch t1"
    assert m1.gflops_per_s == pytest.approx(2000 * m1.throughput_ips / 1e9)
    tp = df[df["mode"] == "throughput"].iloc[0]
    assert tp.best_batch == 4 and tp.throughput_ips > 0
    failed = df[df.status == "oom"].iloc[0]
    assert failed.error == "boom"
    assert failed[["median_ms", "throughput_ips"]].isna().all()  # absent, never 0
    assert failed.energy_source == "none"

    with_samples = cnnbench.load_results(store, samples=True, engine="openvino")
    assert len(with_samples) == 1 and len(with_samples.iloc[0].samples_ms) == 200
    assert len(cnnbench.load_results(store, model="m1", status="ok")) == 2
    with pytest.raises(BadInput, match="unknown filter"):
        cnnbench.load_results(store, colour="red")
    with pytest.raises(Exception, match="no store"):
        cnnbench.load_results(store.parent / "missing.db")


def test_export_csv_and_jsonl(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["results", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and list(rows[0]) == list(COLUMNS)
    oom = next(r for r in rows if r["status"] == "oom")
    assert oom["median_ms"] == "" and oom["throughput_ips"] == ""
    ok = next(r for r in rows if r["engine"] == "openvino")
    assert float(ok["median_ms"]) == pytest.approx(5.0, rel=0.02)

    assert main(["results", "export", "--format", "csv", "--engine", "torch", "-o", "t.csv"]) == 0
    with open("t.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    assert main(["results", "export", "-o", "all.jsonl"]) == 0  # jsonl stays the default
    lines = Path("all.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all("samples_ms" in json.loads(x) for x in lines)
    assert main(["results", "export", "--format", "xml"]) == 2
