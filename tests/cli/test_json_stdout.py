"""``--json -``: stdout holds the JSON and nothing else, whatever libraries print.

Run as real processes (library output goes to file descriptors, not through pytest's capture),
each with an empty export cache, so the first export of a model happens inside the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cnnbench(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CNNBENCH_CACHE=str(tmp_path / "fresh-cache"))
    return subprocess.run(
        [sys.executable, "-m", "cnnbench", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )


def test_models_detail_json_on_a_first_export_is_pure_json(tmp_path: Path) -> None:
    done = _cnnbench(["models", "--detail", "tinynet", "--json", "-"], tmp_path)
    assert done.returncode == 0, done.stderr
    detail = json.loads(done.stdout)  # the whole of stdout parses
    assert detail["macs"] == 272_544 and detail["complete"] is True


def test_run_json_to_stdout_keeps_the_table_on_stderr(tmp_path: Path) -> None:
    args = ["run", "tinynet", "-e", "torch", "--budget", "0.2", "--threads", "1", "--json", "-"]
    done = _cnnbench([*args, "--db", str(tmp_path / "s.db")], tmp_path)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    assert record["status"] == "ok"
    assert "tinynet" in done.stderr  # the table went to stderr
