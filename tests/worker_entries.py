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


def perf_window(payload: dict[str, Any]) -> dict[str, Any]:
    """Spin outside, then inside, the perf control window (see test_counters)."""
    import time

    from cnnbench.measure.probes.base import probe_window
    from cnnbench.measure.probes.perf import control_from_env

    control = control_from_env()
    assert control is not None, "not started under the perf launcher"
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass
    with probe_window([control]) as readings:
        t0 = time.perf_counter()
        while time.perf_counter() < t0 + 0.1:
            pass
        window_ms = (time.perf_counter() - t0) * 1e3
    return {"acknowledged": readings[0].values["acknowledged"], "window_ms": window_ms}


def numpy_net(payload: dict[str, Any]) -> dict[str, Any]:
    """A small NumPy conv net (3x3 conv 16->32 on 64x64, ReLU, 1x1 conv 32->32, dense; 23 M
    MACs, so ten inferences stand well above two workers' start-up noise): one warm call, then
    n calls."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 16, 64, 64)).astype(np.float32)
    w1 = rng.standard_normal((32, 16 * 9)).astype(np.float32)
    w2 = rng.standard_normal((32, 32)).astype(np.float32)
    w3 = rng.standard_normal((10, 32 * 62 * 62)).astype(np.float32)

    def infer() -> np.ndarray:
        cols = np.lib.stride_tricks.sliding_window_view(x[0], (3, 3), axis=(1, 2))
        cols = cols.transpose(1, 2, 0, 3, 4).reshape(62 * 62, 144)
        h = np.maximum(cols @ w1.T, 0)
        h = np.maximum(h @ w2.T, 0)
        return w3 @ h.T.reshape(-1)

    infer()
    for _ in range(int(payload["calls"])):
        infer()
    return {"calls": payload["calls"]}


def import_time_state(payload: dict[str, Any]) -> dict[str, Any]:
    """What ``preload_probe`` saw when it was imported (in the template, before the fork)."""
    import preload_probe

    return {"seen": preload_probe.SEEN, "pid": os.getpid(), "importer": preload_probe.PID}
