"""Resume: a configuration already measured (ok) on this machine is skipped, by its key."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cnnbench.cli.main import main

QUICK = ["--budget", "0.2", "--min-samples", "5", "--threads", "1"]


def _runs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, engine, status FROM runs ORDER BY created").fetchall()


def test_resume_skips_what_is_done_and_measures_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cnnbench.db"
    assert main(["run", "tinynet", "-e", "torch", *QUICK]) == 0
    ((first_id, _, _),) = _runs(db)
    capsys.readouterr()

    # Same configuration again with --resume: nothing measured, no new row, the id is named.
    assert main(["run", "tinynet", "-e", "torch", *QUICK, "--resume", "--json", "out.json"]) == 0
    err = capsys.readouterr().err
    assert f"skipped (already measured: {first_id})" in err
    assert len(_runs(db)) == 1
    assert json.loads(Path("out.json").read_text()) == []

    # A larger budget is the same configuration (the hash covers identity, not budget).
    larger = ["--budget", "0.4", "--min-samples", "5", "--threads", "1"]
    assert main(["run", "tinynet", "-e", "torch", *larger, "--resume"]) == 0
    assert len(_runs(db)) == 1

    # A new engine alongside: only it is measured.
    assert main(["run", "tinynet", "-e", "torch", "-e", "onnxruntime", *QUICK, "--resume"]) == 0
    rows = _runs(db)
    assert [r[1] for r in rows] == ["torch", "onnxruntime"]

    # Without --resume everything is measured again (repeats are kept, not overwritten).
    assert main(["run", "tinynet", "-e", "torch", *QUICK]) == 0
    assert len(_runs(db)) == 3


def test_resume_measures_again_what_failed(tmp_path: Path) -> None:
    db = tmp_path / "cnnbench.db"
    # int8 on the torch engine is refused: an unsupported record, which is not "done".
    assert main(["run", "tinynet", "-e", "torch", "--precision", "int8", *QUICK]) == 1
    assert main(["run", "tinynet", "-e", "torch", "--precision", "int8", *QUICK, "--resume"]) == 1
    assert [r[2] for r in _runs(db)] == ["unsupported", "unsupported"]
