"""OpenVINO settings: the engine's options turned into an explicit compile configuration, the
checks made before compiling, and the read-back of what the compiled model really uses.

See :mod:`cnnbench.engines.openvino.engine` for why every value is set explicitly and read back.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Any

from cnnbench.engines._options import MALLOC, Option, OptionValues, parse_options
from cnnbench.errors import Unsupported
from cnnbench.spec import Target
from cnnbench.system.isa import get_cap

PERFORMANCE_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT", "none": None}
# The caps OpenVINO reads when it loads: oneDNN's, and the CPU plugin's own for its kernels.
ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "OV_CPU_MAX_ISA")

OPTIONS: tuple[Option, ...] = (
    Option("hyper_threading", bool, None, "ENABLE_HYPER_THREADING (unset: OpenVINO's choice)"),
    Option(
        "performance_hint",
        tuple(PERFORMANCE_HINTS),
        "latency",
        "PERFORMANCE_HINT (none: set nothing, record OpenVINO's choice)",
    ),
    Option("pinning", bool, None, "ENABLE_CPU_PINNING (unset: OpenVINO's choice)"),
    Option(
        "fold_bn",
        bool,
        True,
        "load the export with BatchNorm folded into the conv (1) or kept as nodes (0)",
    ),
    MALLOC,
)

# cnnbench precision -> OpenVINO INFERENCE_PRECISION_HINT
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
# precision -> the OPTIMIZATION_CAPABILITIES entry the device must list
NEEDED_CAPABILITY = {"bf16": "BF16", "fp16": "FP16", "int8": "INT8"}


def _hint_name(value: Any) -> str:
    """'LATENCY' from 'LATENCY', PerformanceMode.LATENCY or similar."""
    return str(value).rsplit(".", 1)[-1].upper()


def _type_name(value: Any) -> str:
    """'f32' from an openvino Type (or its string)."""
    getter = getattr(value, "get_type_name", None)
    return str(getter()) if callable(getter) else str(value)


def parse_target_options(target: Target) -> OptionValues:
    return parse_options("openvino", OPTIONS, target.options)


def resolve_device(core: Any, name: str) -> str:
    available = [str(d) for d in core.available_devices]
    wanted = name.strip().upper().replace(":", ".")
    if wanted in available:
        return wanted
    if "." not in wanted and any(d.split(".")[0] == wanted for d in available):
        return wanted  # "GPU" with GPU.0, GPU.1: OpenVINO's default GPU
    seen = ", ".join(d.lower() for d in available) or "none"
    raise Unsupported(f"openvino has no device {name!r} on this machine (it sees: {seen})")


def check_precision_support(precision: str, device: str, capabilities: list[str]) -> None:
    need = NEEDED_CAPABILITY.get(precision)
    if need is not None and need not in capabilities:
        raise Unsupported(
            f"openvino {device} cannot run {precision}: its OPTIMIZATION_CAPABILITIES are "
            f"{', '.join(capabilities) or 'none'} (no {need}); OpenVINO would silently run "
            "f32 instead"
        )
    if precision == "int8" and importlib.util.find_spec("nncf") is None:
        raise Unsupported("int8 needs nncf: pip install nncf")


def check_isa_env(isa: str) -> None:
    """Both caps must be in the environment before OpenVINO loads, with oneDNN's spelling
    (OpenVINO's CPU plugin reads ``OV_CPU_MAX_ISA`` with the same names; some releases
    refuse caps that differ)."""
    want = get_cap(isa).onednn
    wrong = [
        f"{key}={os.environ.get(key)!r}"
        for key in ISA_ENV
        if (os.environ.get(key) or "").upper() != want.upper()
    ]
    if wrong:
        need = " and ".join(f"{key}={want}" for key in ISA_ENV)
        raise Unsupported(
            f"ISA cap {isa} needs {need} in the environment before OpenVINO loads (it has "
            f"{', '.join(wrong)}); run it through a cnnbench worker"
        )


def build_config(target: Target, options: OptionValues) -> dict[str, Any]:
    config: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": PRECISION_HINTS[target.precision],
        "NUM_STREAMS": str(target.streams),
    }
    hint = PERFORMANCE_HINTS[options.text("performance_hint")]
    if hint is not None:
        config["PERFORMANCE_HINT"] = hint
    if target.threads is not None:
        config["INFERENCE_NUM_THREADS"] = str(target.threads)
    for option, key in (
        ("pinning", "ENABLE_CPU_PINNING"),
        ("hyper_threading", "ENABLE_HYPER_THREADING"),
    ):
        value = options.flag(option)
        if value is not None:
            config[key] = value
    return config


def read_back(compiled: Any) -> dict[str, Any]:
    supported = compiled.get_property("SUPPORTED_PROPERTIES")
    values: dict[str, Any] = {}
    for key in (
        "INFERENCE_PRECISION_HINT",
        "NUM_STREAMS",
        "INFERENCE_NUM_THREADS",
        "PERFORMANCE_HINT",
        "ENABLE_CPU_PINNING",
        "ENABLE_HYPER_THREADING",
        "SCHEDULING_CORE_TYPE",
        "EXECUTION_MODE_HINT",
        "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
        "EXECUTION_DEVICES",
    ):
        if key not in supported:
            continue
        value = compiled.get_property(key)
        if key == "INFERENCE_PRECISION_HINT":
            value = _type_name(value)
        elif key in ("PERFORMANCE_HINT", "SCHEDULING_CORE_TYPE", "EXECUTION_MODE_HINT"):
            value = _hint_name(value)
        elif key in (
            "NUM_STREAMS",
            "INFERENCE_NUM_THREADS",
            "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
        ):
            value = int(value)
        elif key in ("ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING"):
            value = bool(value)
        elif key == "EXECUTION_DEVICES":
            value = [str(v) for v in value]
        values[key] = value
    return values


def check_read_back(config: dict[str, Any], readback: dict[str, Any]) -> None:
    wrong = []
    for key, asked in config.items():
        if key not in readback:
            wrong.append(f"{key}: asked {asked}, the compiled model does not report it")
            continue
        got = readback[key]
        if isinstance(got, bool):
            same = got == asked
        elif isinstance(got, int):
            same = str(got) == str(asked)
        else:
            same = str(got).upper() == str(asked).upper()
        if not same:
            wrong.append(f"{key}: asked {asked}, got {got}")
    if wrong:
        raise Unsupported("openvino did not honour the settings: " + "; ".join(wrong))


def full_name(core: Any, device: str) -> str | None:
    with contextlib.suppress(Exception):
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    return None
