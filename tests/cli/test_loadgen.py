"""``cnnbench run --scenario``: real LoadGen runs of tinynet on onnxruntime, short durations.

LoadGen's verdict is its own; the tests check that cnnbench passes it on (VALID, or INVALID with
LoadGen's reason), stores it, exports and imports it, and that LoadGen's SingleStream p90 agrees
with cnnbench's own latency mode on the same model. A missing extra is one line and exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnnbench.cli.main import main
from cnnbench.measure.launch import run_spec
from cnnbench.scenario import LoadgenSettings
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store

pytest.importorskip("mlperf_loadgen")

SHAPE = ["--input-shape", "3x96x96"]  # tinynet at about 0.1-0.3 ms a call
BASE = ["tinynet", "-e", "onnxruntime", "--threads", "1", *SHAPE]
SHORT = ["--min-duration", "0.3"]


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["run", *BASE, *args, "--json", "out.json"])
    out = capsys.readouterr().out
    (rec,) = json.loads(Path("out.json").read_text())
    assert code == 0, rec.get("error")
    rec["_table"] = out
    return rec


def test_single_stream_is_valid_stored_exported_and_agrees_with_latency_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = _run(["--scenario", "SingleStream", *SHORT], capsys)
    lg = rec["loadgen"]
    assert rec["status"] == "ok" and rec["spec"]["mode"] == "loadgen"
    assert lg["verdict"] == "VALID", lg["reasons"]
    assert lg["scenario"] == "SingleStream" and lg["early_stopping_met"] is True
    assert lg["query_count"] >= 64 and lg["early_stopping_ms"] > 0
    assert lg["settings"]["calibration"]["median_ms"] > 0
    assert lg["log"]["files"]["mlperf_log_detail.txt"] > 0 and lg["log"]["kept"] is False
    assert "VALID" in rec["_table"]
    assert rec["latency_ms"]["n"] == len(rec["samples_ms"]) >= lg["query_count"]

    # Stored as it came, exported and imported whole.
    with Store() as store:
        assert store.get(rec["id"]).to_json()["loadgen"] == lg
    assert main(["results", "export", "-o", "all.jsonl"]) == 0
    other = tmp_path / "other.db"
    assert main(["results", "import", "all.jsonl", "--db", str(other)]) == 0
    with Store(other) as store:
        assert store.get(rec["id"]).to_json()["loadgen"] == lg

    # LoadGen's p90 (its clock, through the SUT) against cnnbench's latency mode p90.
    lat = _run(["--budget", "0.5"], capsys)
    ours, theirs = lat["latency_ms"]["p90"], lg["latency_ms"]["p90"]
    # Same session, same thread count: within the noise of a shared 2-core machine, plus the
    # SUT's hand-over (tens of microseconds). A unit or batch mistake is off by far more.
    assert 0.5 * ours - 0.05 <= theirs <= 2.0 * ours + 0.1, (ours, theirs)


def test_offline_is_valid_with_samples_per_second(capsys: pytest.CaptureFixture[str]) -> None:
    rec = _run(["--scenario", "Offline", *SHORT, "--streams", "2"], capsys)
    lg = rec["loadgen"]
    assert lg["verdict"] == "VALID", lg["reasons"]
    assert lg["samples_per_s"] > 0 and rec["throughput_ips"] == lg["samples_per_s"]
    assert lg["settings"]["target_qps_source"].startswith("calibrated")
    assert "2 requests in flight" in lg["settings"]["dispatch"]


def test_server_with_a_bound_too_tight_is_invalid_with_loadgens_reason(tmp_path: Path) -> None:
    # A real process with --json -: LoadGen's C++ may print, yet stdout holds only the JSON.
    args = ["--scenario", "Server", "--latency-bound-ms", "0.001", *SHORT, "--min-queries", "50"]
    done = subprocess.run(
        [sys.executable, "-m", "cnnbench", "run", *BASE, *args, "--json", "-"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (rec,) = json.loads(done.stdout)
    rec["_table"] = done.stderr  # the tables went to stderr
    lg = rec["loadgen"]
    assert rec["status"] == "ok"  # measured; LoadGen's verdict is in its section
    assert lg["verdict"] == "INVALID" and lg["perf_constraints_met"] is False
    assert any("Reduce target QPS to improve latency" in r for r in lg["reasons"])
    assert lg["settings"]["latency_bound_ms"] == 0.001
    assert lg["settings"]["latency_bound_source"] == "user"
    assert any(w.startswith("loadgen: INVALID") for w in rec["warnings"])
    assert "INVALID" in rec["_table"]


def _shadow(tmp_path: Path) -> str:
    """A folder whose mlperf_loadgen fails to import, as an absent extra does."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "mlperf_loadgen.py").write_text("raise ImportError('no mlperf_loadgen here')\n")
    return str(shadow)


def test_a_missing_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_shadow(tmp_path), env.get("PYTHONPATH", "")])
    db = tmp_path / "none.db"
    out = ["--db", str(db), "--json", "-"]
    done = subprocess.run(
        [sys.executable, "-m", "cnnbench", "run", *BASE, "--scenario", "Offline", *out],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cnnbench[loadgen]" in lines[0], done.stderr
    assert done.stdout == "" and not db.exists()


def test_a_worker_without_the_extra_reports_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([_shadow(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    spec = RunSpec(
        ModelRef("tinynet"),
        (3, 32, 32),
        1,
        Target("onnxruntime"),
        "loadgen",
        Budget(),
        loadgen=LoadgenSettings("SingleStream"),
    )
    outcome = run_spec(spec, timeout_s=60)
    assert outcome.status == "unsupported"
    assert "cnnbench[loadgen]" in (outcome.error or "")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--target-qps", "10"], "need(s) --scenario"),
        (["--find-peak"], "need(s) --scenario"),
        (["--scenario", "SingleStream", "--target-qps", "5"], "Server and Offline"),
        (["--scenario", "Offline", "--latency-bound-ms", "5"], "applies to Server"),
        (["--scenario", "Offline", "--find-peak"], "FindPeakPerformance applies to Server"),
        (["--scenario", "SingleStream", "--batch", "4"], "batch must be 1"),
        (["--scenario", "Offline", "--mode", "throughput"], "a mode of its own"),
        (["--mode", "loadgen"], "with a LoadGen scenario"),
        (["--scenario", "Server", "--target-qps", "0"], "target-qps"),
        (["--scenario", "Singlestream"], "invalid choice"),
    ],
)
def test_bad_loadgen_flags_are_one_line_and_exit_2(
    args: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bad.db"
    code = main(["run", *BASE, *args, "--db", str(db)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and words in err, err
    assert not db.exists()
