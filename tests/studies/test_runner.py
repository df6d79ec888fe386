"""A study run end to end on tinynet: resume by default, --fresh, kill -9 of the parent."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.results.record import ResultRecord
from cnnbench.store.sqlite import Store

STUDY = """\
study: tiny
models: [tinynet]
targets:
  one: {cores: 1, threads: 1}
  two: {cores: all, threads: 2}
settings: {engines: [torch], budget_s: 0.05, min_samples: 3, rounds: 1, group_size: 1}
metrics: [layers, energy]
quick:
  targets: [one]
  metrics: [latency]
"""


def store_records(db: Path) -> list[ResultRecord]:
    with Store(db) as store:
        return list(store.iter_all())


def _runs(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, key, status, json_extract(record, '$.spec.target') FROM runs "
            "ORDER BY created, rowid"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_study_resumes_by_default_and_fresh_measures_again(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(STUDY)
    db = tmp_path / "cnnbench.db"
    assert main(["study", "tiny.yaml", "--json", "a.json"]) == 0
    first = _runs(db)
    assert len(first) == 2  # 2 targets x layers
    assert {r[3] for r in first} == {"one", "two"}  # records carry the target's name
    out = json.loads(Path("a.json").read_text())
    assert out["summary"]["measured"] == 2 and out["summary"]["skipped"] == 0
    assert out["summary"]["unavailable"] == {}  # energy is a probe on every timed window
    with Store(db) as store:  # each record says what its energy is, or why there is none
        energies = [r.energy for r in store.query(mode="profile")]
    assert len(energies) == 2 and all(e.source != "none" or e.reason for e in energies)
    assert all("energy" in r.spec.probes for r in store_records(db))
    assert "overhead-vs-threads" in {f["kind"] for f in out["findings"]}  # 1 and 2 threads
    for finding in out["findings"]:  # every finding names records that exist
        assert set(finding["sources"]) <= {r[0] for r in first}

    assert main(["study", "tiny.yaml", "--json", "b.json"]) == 0  # resumed: nothing to do
    assert _runs(db) == first
    again = json.loads(Path("b.json").read_text())["summary"]
    assert again["measured"] == 0 and again["skipped"] == 2

    assert main(["study", "tiny.yaml", "--quick", "--fresh", "--json", "c.json"]) == 0
    rows = _runs(db)
    assert len(rows) == 3 and rows[:2] == first  # one more: the quick variant's only point


def test_a_failing_configuration_is_recorded_and_the_study_goes_on(tmp_path: Path) -> None:
    # int8 is refused by the torch engine: recorded unsupported; fp32 measured; exit 1.
    text = STUDY.replace("two: {cores: all, threads: 2}", "two: {cores: all, precision: int8}")
    (tmp_path / "s.yaml").write_text(text.replace("[layers, energy]", "[latency]"))
    assert main(["study", "s.yaml", "--json", "out.json"]) == 1
    statuses = sorted((r[3], r[2]) for r in _runs(tmp_path / "cnnbench.db"))
    assert statuses == [("one", "ok"), ("two", "unsupported")]
    summary = json.loads(Path("out.json").read_text())["summary"]
    assert summary["failed_by_status"] == {"unsupported": 1} and summary["measured"] == 1


def test_kill_9_of_the_parent_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    text = STUDY.replace("[tinynet]", "[tinynet, 'pattern/standard?depth=2&width=8&input=32']")
    (tmp_path / "tiny.yaml").write_text(text.replace("[layers, energy]", "[latency]"))
    db = tmp_path / "cnnbench.db"
    cmd = [sys.executable, "-m", "cnnbench", "study", "tiny.yaml"]
    log = (tmp_path / "study.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait for the first stored record
            if (db.exists() and _count(db) >= 1) or proc.poll() is not None:
                break
            time.sleep(0.05)
        before = _runs(db) if _count(db) else []
        assert 1 <= len(before) < 4, (tmp_path / "study.log").read_text()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed = _runs(db)
    assert killed[: len(before)] == before and len(killed) < 4
    assert main(["study", "tiny.yaml", "--json", "out.json"]) == 0
    after = _runs(db)
    assert after[: len(killed)] == killed  # nothing lost
    assert len(after) == 4 and len({r[1] for r in after}) == 4  # nothing duplicated
    summary = json.loads(Path("out.json").read_text())["summary"]
    assert summary["skipped"] == len(killed) and summary["measured"] == 4 - len(killed)


def _count(db: Path) -> int:
    """Runs stored so far (read only: never creates the file the study will create)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("args", [["list"], ["list", "--json", "-"]])
def test_study_list(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", *args]) == 0
    out = capsys.readouterr().out
    if "--json" in args:
        names = [row["name"] for row in json.loads(out)]
        assert names == sorted(names) and "parallel-modes" in names
    else:
        assert "design-patterns" in out
