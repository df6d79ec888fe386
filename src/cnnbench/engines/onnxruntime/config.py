"""ONNX Runtime settings: the engine's options, devices and precisions, checked before a session
is built, and the ``SessionOptions`` and provider list they turn into.

See :mod:`cnnbench.engines.onnxruntime.engine` for what each setting means.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
from dataclasses import dataclass
from typing import Any

from cnnbench.engines._options import MALLOC, Option, parse_options
from cnnbench.errors import Unsupported
from cnnbench.spec import Target

GRAPH_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
EXECUTION_MODES = {"sequential": "ORT_SEQUENTIAL", "parallel": "ORT_PARALLEL"}
SPIN_KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")

OPTIONS: tuple[Option, ...] = (
    Option("allow_spinning", bool, True, "pool threads spin between calls before sleeping"),
    Option("execution_mode", tuple(EXECUTION_MODES), "sequential", "ORT's execution mode"),
    Option("graph_optimization", tuple(GRAPH_LEVELS), "all", "ORT's graph optimisation level"),
    Option("inter_op_threads", int, None, "inter-op pool size (execution_mode=parallel only)"),
    Option(
        "fold_bn",
        bool,
        True,
        "load the export with BatchNorm folded into the conv (1) or kept as nodes (0)",
    ),
    MALLOC,
)

CPU_EP = "CPUExecutionProvider"
CUDA_EP = "CUDAExecutionProvider"
TRT_EP = "TensorrtExecutionProvider"


@dataclass(frozen=True)
class Settings:
    """The parsed options of a target."""

    graph_optimization: str
    execution_mode: str
    inter_op_threads: int | None
    allow_spinning: bool


@dataclass(frozen=True)
class Device:
    kind: str  # cpu | cuda | tensorrt
    index: int

    @property
    def name(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def ortvalue_device(self) -> str:
        return "cpu" if self.kind == "cpu" else "cuda"


def ort() -> Any:
    import onnxruntime

    return onnxruntime


def ort_version() -> str | None:
    """The installed ONNX Runtime distribution's version (CPU or GPU build)."""
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def version_text() -> str:
    return ort_version() or "unknown version"


def parse_settings(target: Target) -> Settings:
    values = parse_options("onnxruntime", OPTIONS, target.options)
    mode = values.text("execution_mode")
    inter = values.integer("inter_op_threads")
    if inter is not None and mode != "parallel":
        raise Unsupported(
            "inter_op_threads applies to execution_mode=parallel only "
            "(onnxruntime runs no inter-op pool in sequential mode)"
        )
    return Settings(
        values.text("graph_optimization"), mode, inter, bool(values.flag("allow_spinning"))
    )


def cuda_device_count() -> int:
    """GPUs on this machine (torch's count where it has CUDA, else the /dev/nvidiaN nodes)."""
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.device_count())
    try:
        return sum(1 for n in os.listdir("/dev") if re.fullmatch(r"nvidia[0-9]+", n))
    except OSError:
        return 0


def parse_device(name: str) -> Device:
    m = re.fullmatch(r"(cpu|cuda|tensorrt)(?::([0-9]+))?", name.strip().lower())
    if m is None or (m.group(1) == "cpu" and m.group(2) not in (None, "0")):
        raise Unsupported(
            f"onnxruntime engine has no device {name!r} (cpu, cuda[:N], tensorrt[:N])"
        )
    return Device(m.group(1), int(m.group(2) or 0))


def check_device(ort: Any, device: Device) -> None:
    if device.kind == "cpu":
        return
    ep = CUDA_EP if device.kind == "cuda" else TRT_EP
    available = ort.get_available_providers()
    if ep not in available:
        hint = ""
        with contextlib.suppress(Exception):
            if any(d.ep_name == ep for d in ort.get_ep_devices()):
                hint = " (it is a plugin execution provider here, which cnnbench does not drive)"
        raise Unsupported(
            f"{device.name}: this onnxruntime ({version_text()}) has no {ep}{hint}; "
            f"available: {', '.join(available)}"
        )
    count = cuda_device_count()
    if count and device.index >= count:
        raise Unsupported(f"{device.name}: only {count} CUDA device(s)")


def check_device_precision(precision: str, device: Device) -> None:
    """Refuse a precision this device has no ONNX Runtime path for (before any graph is built)."""
    if precision == "fp32":
        return
    if precision == "bf16":
        raise Unsupported(
            "onnxruntime has no bf16 convolution kernels (CPU, CUDA or TensorRT provider): "
            "a bf16 graph would not run as bf16"
        )
    if precision == "fp16" and device.kind == "cpu":
        raise Unsupported(
            "onnxruntime's CPU provider has no fp16 convolution kernels on this path: it would "
            "insert casts and compute in fp32; fp16 runs on cuda or tensorrt devices"
        )
    if precision == "int8" and device.kind != "cpu":
        raise Unsupported(
            f"int8 on {device.name} is not offered: the CUDA provider runs QDQ graphs with "
            "float convolutions, and cnnbench has no TensorRT int8 calibration path"
        )
    if precision not in ("fp16", "int8"):
        raise Unsupported(f"onnxruntime engine has no {precision} path")


def session_options(ort: Any, target: Target, settings: Settings) -> Any:
    so = ort.SessionOptions()
    so.log_severity_level = 3  # errors only; what ORT really did is read back instead
    so.graph_optimization_level = getattr(
        ort.GraphOptimizationLevel, GRAPH_LEVELS[settings.graph_optimization]
    )
    so.execution_mode = getattr(ort.ExecutionMode, EXECUTION_MODES[settings.execution_mode])
    if target.threads is not None:
        so.intra_op_num_threads = target.threads
    if settings.inter_op_threads is not None:
        so.inter_op_num_threads = settings.inter_op_threads
    spin = "1" if settings.allow_spinning else "0"
    for key in SPIN_KEYS:
        so.add_session_config_entry(key, spin)
    with contextlib.suppress(Exception):
        so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    return so


def providers(device: Device, precision: str) -> list[Any]:
    if device.kind == "cpu":
        return [CPU_EP]
    cuda = (CUDA_EP, {"device_id": str(device.index)})
    if device.kind == "cuda":
        return [cuda, CPU_EP]
    from cnnbench.graph.export import cache_dir

    trt = {
        "device_id": str(device.index),
        "trt_fp16_enable": "True" if precision == "fp16" else "False",
        "trt_engine_cache_enable": "True",
        "trt_engine_cache_path": str(cache_dir().parent / "tensorrt"),
    }
    return [(TRT_EP, trt), cuda, CPU_EP]


def check_providers(session: Any, device: Device) -> None:
    used = list(session.get_providers())
    want = {"cpu": CPU_EP, "cuda": CUDA_EP, "tensorrt": TRT_EP}[device.kind]
    if not used or used[0] != want:
        raise Unsupported(
            f"{device.name}: onnxruntime fell back to {', '.join(used) or 'nothing'} "
            f"({want} did not load)"
        )
