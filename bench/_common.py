"""Helpers shared by the benchmarks: run the real command line and read its JSON records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def cnnbench(args: list[str], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run ``cnnbench ARGS --json F --db D`` in a fresh process; return its records."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, "-m", "cnnbench", *args, "--json", str(out), "--db", f"{tmp}/b.db"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env or os.environ.copy())
        return list(json.loads(out.read_text()))


def python_json(code: str, env: dict[str, str]) -> Any:
    """Run a Python snippet in a fresh process; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])
