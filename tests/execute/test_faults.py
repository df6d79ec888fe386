"""Models that fail in every way, in one run: each costs its own record, the rest is measured.

The faulty models are a user's own modules (written here into the run's folder, which the
parent and its workers import from): none of their code may run in the parent, so none of these
faults can take the parent down.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from processes import tagged_processes

FAULTS = """
import ctypes, os, signal, time
import torch
from torch import nn


class Forward(nn.Module):
    def __init__(self, action):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.action = action

    def forward(self, x):
        self.action()
        return self.conv(x)


def _segv():
    os.kill(os.getpid(), signal.SIGSEGV)


def _hang():
    time.sleep(3600)


def _memory():
    raise MemoryError("cannot allocate the activations")


def _boom():
    raise RuntimeError("a bug in forward")


def segv():
    return Forward(_segv)


def hang():
    return Forward(_hang)


def memory():
    return Forward(_memory)


def boom():
    return Forward(_boom)


def factory_raises():
    raise ValueError("the factory itself fails")


input_shape = (3, 16, 16)
"""

RAISES_AT_IMPORT = """
raise RuntimeError("this module fails while it is imported")


def build():
    pass
"""

EXPECTED = {
    "tinynet": "ok",
    "faults:segv": "crashed",
    "faults:hang": "timeout",
    "faults:memory": "oom",
    "faults:boom": "failed",
    "faults:factory_raises": "failed",
    "import_raises:build": "failed",
}


def test_every_fault_costs_one_record_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "faults.py").write_text(FAULTS)
    (tmp_path / "import_raises.py").write_text(RAISES_AT_IMPORT)
    tag = uuid.uuid4().hex
    monkeypatch.setenv("CNNBENCH_TEST_TAG", tag)
    quick = ["--budget", "0.2", "--min-samples", "5", "--threads", "1", "--timeout", "12"]
    code = main(["run", *EXPECTED, "-e", "torch", *quick, "--json", "out.json"])
    assert code == 1  # some configurations failed, and were recorded
    records = json.loads(Path("out.json").read_text())
    statuses = {r["spec"]["model"]: r["status"] for r in records}
    assert statuses == EXPECTED
    by_model = {r["spec"]["model"]: r for r in records}
    assert "SIGSEGV" in by_model["faults:segv"]["error"]
    assert "a bug in forward" in by_model["faults:boom"]["error"]
    assert "while it is imported" in by_model["import_raises:build"]["error"]
    assert by_model["tinynet"]["cost"]["macs"] == 272_544  # measured in full
    with sqlite3.connect(os.environ["CNNBENCH_DB"]) as conn:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == len(EXPECTED)
    monkeypatch.delenv("CNNBENCH_TEST_TAG")
    assert tagged_processes(tag) == []  # no worker left behind
