"""The command line: a real run end to end and the results commands (bad input: test_bad_input)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cnnbench.cli.main import main

QUICK = ["--budget", "0.3", "--min-samples", "5", "--threads", "1"]


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    return conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in tables else 0


def test_run_end_to_end_stores_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cnnbench.db"
    code = main(["run", "tinynet", "-e", "torch", *QUICK, "--json", "out.json"])
    assert code == 0
    out = capsys.readouterr().out
    assert "tinynet" in out and "ok" in out
    records = json.loads(Path("out.json").read_text())
    assert len(records) == 1
    rec = records[0]
    assert rec["schema"] == "cnnbench.result/1" and rec["status"] == "ok"
    assert rec["spec"]["model"] == "tinynet" and rec["spec"]["threads"] == 1
    assert rec["effective"]["threads"] == 1 and rec["effective"]["precision"] == "fp32"
    lat = rec["latency_ms"]
    assert lat["n"] == len(rec["samples_ms"]) >= 5
    assert lat["min"] <= lat["ci95"][0] <= lat["median"] <= lat["ci95"][1] <= lat["max"]
    assert rec["cost"]["macs"] == 272_544  # tinynet: conv 3->8 3x3 at 32x32, dw, 1x1, fc
    assert rec["energy"]["source"] == "none" and rec["energy"]["reason"]
    assert _rows(db) == 1

    assert main(["results", "list"]) == 0
    assert rec["id"][:12] in capsys.readouterr().out
    assert main(["results", "show", rec["id"][:8], "--json", "show.json"]) == 0
    shown = json.loads(Path("show.json").read_text())
    assert shown["samples_ms"] == rec["samples_ms"]

    assert main(["results", "export", "-o", "all.jsonl"]) == 0
    other = tmp_path / "other.db"
    assert main(["results", "import", "all.jsonl", "--db", str(other)]) == 0
    assert _rows(other) == 1


def test_throughput_sweep_reports_each_batch(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["run", "tinynet", "--mode", "throughput", "--max-batch", "4", *QUICK, "--json", "t.json"]
    )
    assert code == 0
    rec = json.loads(Path("t.json").read_text())[0]
    sweep = rec["throughput"]["sweep"]
    assert [p["batch"] for p in sweep][:2] == [1, 2]
    assert all(p["images_per_s"] > 0 for p in sweep)
    assert rec["throughput_ips"] == max(p["images_per_s"] for p in sweep)
    assert rec["throughput"]["best_batch"] in [p["batch"] for p in sweep]


def test_entry_point_runs_as_a_program(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "cnnbench", "engines", "--json", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    engines = {e["name"]: e for e in json.loads(proc.stdout)}
    assert engines["torch"]["installed"] and engines["torch"]["version"].startswith("2.")


def test_failed_configuration_is_recorded_and_exit_code_is_1(tmp_path: Path) -> None:
    # bf16 runs, int8 is unsupported on torch eager: recorded, the sweep goes on, exit 1.
    code = main(["run", "tinynet", *QUICK, "--precision", "int8", "--json", "f.json"])
    assert code == 1
    rec = json.loads(Path("f.json").read_text())[0]
    assert rec["status"] == "unsupported" and "int8" in rec["error"]
    assert _rows(tmp_path / "cnnbench.db") == 1
