"""Worker entries that misbehave on purpose, for the isolation tests."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def echo(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "echo": payload,
        "omp": os.environ.get("OMP_NUM_THREADS"),
        "onednn": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "aten": os.environ.get("ATEN_CPU_CAPABILITY"),
    }


def segfault(payload: dict[str, Any]) -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def abort(payload: dict[str, Any]) -> dict[str, Any]:
    os.abort()


def sigkill(payload: dict[str, Any]) -> dict[str, Any]:
    os.kill(os.getpid(), signal.SIGKILL)
    return {}


def hang(payload: dict[str, Any]) -> dict[str, Any]:
    time.sleep(3600)
    return {}


def allocate(payload: dict[str, Any]) -> dict[str, Any]:
    # Far beyond RAM plus swap: the kernel refuses it at once and Python raises MemoryError.
    block = bytearray(1 << 46)
    return {"size": len(block)}


def torch_oom(payload: dict[str, Any]) -> dict[str, Any]:
    import torch

    t = torch.empty(1 << 44, dtype=torch.float32)
    return {"numel": t.numel()}


def fail(payload: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("something is wrong with this configuration")


def unsupported(payload: dict[str, Any]) -> dict[str, Any]:
    from cnnbench.errors import Unsupported

    raise Unsupported("this engine cannot do that")


def exit_silently(payload: dict[str, Any]) -> dict[str, Any]:
    os._exit(3)


def torch_isa(payload: dict[str, Any]) -> dict[str, Any]:
    """Prepare tinynet on torch under the ISA cap the parent set; report what ATen runs."""
    from cnnbench.engines import ModelInstance, get_engine
    from cnnbench.models import create_model
    from cnnbench.spec import Target

    session = get_engine("torch")().prepare(
        ModelInstance("tinynet", create_model("tinynet"), (1, 3, 32, 32)),
        Target("torch", isa=payload["isa"]),
    )
    return session.effective()


def spawn_and_crash(payload: dict[str, Any]) -> dict[str, Any]:
    """Start a grandchild in the worker's process group, record its pid, then segfault."""
    import subprocess

    child = subprocess.Popen(["sleep", "3600"])
    with open(payload["pid_file"], "w") as fh:
        fh.write(str(child.pid))
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def import_time_state(payload: dict[str, Any]) -> dict[str, Any]:
    """What ``preload_probe`` saw when it was imported (in the template, before the fork)."""
    import preload_probe

    return {"seen": preload_probe.SEEN, "pid": os.getpid(), "importer": preload_probe.PID}
