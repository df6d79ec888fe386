"""Workers never outlive their parent, their process group, or their scratch folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from cnnbench.measure import isolation
from cnnbench.measure.isolation import SCRATCH_PREFIX, run_worker
from processes import tagged_processes


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.split(") ", 1)[1].startswith("Z")  # a zombie waiting for its reaper


def test_the_whole_process_group_is_gone_when_the_worker_crashes(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    out = run_worker("worker_entries:spawn_and_crash", {"pid_file": str(pid_file)}, timeout_s=60)
    assert out.status == "crashed" and "SIGSEGV" in (out.error or "")
    grandchild = int(pid_file.read_text())
    # SIGKILL went to the whole group before run_worker returned; its delivery is asynchronous.
    deadline = time.monotonic() + 10
    while not _dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _dead(grandchild)


def test_stale_scratch_of_dead_parents_is_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    root = Path(tempfile.gettempdir())
    stale = root / f"{SCRATCH_PREFIX}{dead.pid}-{uuid.uuid4().hex[:8]}"
    live = root / f"{SCRATCH_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stale.mkdir()
    live.mkdir()
    try:
        monkeypatch.setattr(isolation, "_swept", False)
        assert run_worker("worker_entries:echo", {}, timeout_s=60).status == "ok"
        assert not stale.exists()  # its parent is gone: swept
        assert live.exists()  # ours: kept
    finally:
        for path in (stale, live):
            if path.exists():
                path.rmdir()


def test_a_parent_killed_mid_run_leaves_no_worker(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    (tmp_path / "hangs.py").write_text(
        "import time\nfrom torch import nn\n\n\nclass Hang(nn.Module):\n"
        "    def forward(self, x):\n        time.sleep(3600)\n        return x\n\n\n"
        "def build():\n    return Hang()\n"
    )
    env = dict(os.environ, CNNBENCH_TEST_TAG=tag)
    cmd = [sys.executable, "-m", "cnnbench", "run", "hangs:build", "-e", "torch"]
    parent = subprocess.Popen(
        [*cmd, "--input-shape", "3x8x8", "--timeout", "600", "--db", str(tmp_path / "d.db")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            workers = [p for p in tagged_processes(tag) if p != parent.pid]
            time.sleep(0.1)
        assert workers, "no worker started"
        time.sleep(1.0)  # let the measuring worker reach its hanging forward
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        killed_at = time.monotonic()
        while tagged_processes(tag) and time.monotonic() < killed_at + 10:
            time.sleep(0.05)
        assert tagged_processes(tag) == []  # every worker died with its parent
    finally:
        if parent.poll() is None:
            parent.kill()
