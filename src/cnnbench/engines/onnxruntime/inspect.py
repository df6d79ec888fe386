"""ONNX Runtime read-back: what a built session really runs.

The optimised graph ORT dumps while building a session gives the op counts and the precision of
every convolution; the threads the process gained while the session was built give the size of
the intra-op pool; the provider graph assignment gives the nodes per execution provider.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from cnnbench.engines.onnxruntime.config import Device, Settings
from cnnbench.errors import Unsupported
from cnnbench.spec import Target

# ONNX tensor element types (onnx.TensorProto) that matter for the precision read-back.
_FLOAT, _UINT8, _INT8, _FLOAT16, _BFLOAT16 = 1, 2, 3, 10, 16
_DTYPE_NAMES = {_FLOAT: "fp32", _FLOAT16: "fp16", _BFLOAT16: "bf16", _INT8: "int8", _UINT8: "int8"}
_INTEGER_CONVS = ("QLinearConv", "ConvInteger")
_FLOAT_CONVS = ("Conv", "FusedConv", "NhwcFusedConv", "FusedConvFp16")


def _initializer_types(graph: Any) -> dict[str, int]:
    return {t.name: int(t.data_type) for t in graph.initializer}


def graph_summary(path: Path) -> dict[str, Any]:
    """Op counts and the precision of every convolution of ORT's optimised graph."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    init_types = _initializer_types(graph)
    producers = {o: n for n in graph.node for o in n.output}
    ops: Counter[str] = Counter()
    convs: Counter[str] = Counter()
    for node in graph.node:
        domain = node.domain if node.domain not in ("", "ai.onnx") else ""
        ops[f"{domain}:{node.op_type}" if domain else node.op_type] += 1
        if node.op_type in _INTEGER_CONVS:
            convs["int8"] += 1
        elif node.op_type in _FLOAT_CONVS or (
            node.op_type == "Conv" and domain == "com.microsoft.nchwc"
        ):
            weight = node.input[1] if len(node.input) > 1 else ""
            if weight in init_types:
                convs[_DTYPE_NAMES.get(init_types[weight], f"type{init_types[weight]}")] += 1
            elif weight in producers and producers[weight].op_type == "DequantizeLinear":
                convs["fp32 (dequantised int8 weights)"] += 1
            else:
                convs["float (computed weights)"] += 1
    return {
        "ops": dict(sorted(ops.items())),
        "conv_nodes": dict(sorted(convs.items())),
        "nodes": len(graph.node),
    }


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def ep_nodes(session: Any) -> dict[str, int] | None:
    try:
        info = session.get_provider_graph_assignment_info()
    except Exception:
        return None
    counts: Counter[str] = Counter()
    for sub in info:
        counts[sub.ep_name] += len(sub.get_nodes())
    return dict(counts)


def record_threads(info: dict, target: Target, settings: Settings, spawned: int) -> None:
    """The pool size into ``info``: as set, or counted from the threads the build started."""
    info["threads_spawned"] = spawned
    if target.threads is not None:
        info["threads"] = target.threads
        if settings.execution_mode == "sequential" and spawned + 1 != target.threads:
            info["threads_note"] = (
                f"{target.threads} intra-op threads set, but the process gained {spawned} "
                "threads while the session was built (expected one fewer than the pool)"
            )
    elif settings.execution_mode == "sequential":
        info["threads"] = spawned + 1  # ORT's default pool: N-1 workers plus the caller
        info["threads_note"] = "onnxruntime default; counted from the threads it started"
    else:
        info["threads"] = None
        info["threads_note"] = (
            "onnxruntime default in parallel mode: intra- and inter-op pools were started "
            f"together ({spawned} threads) and cannot be told apart"
        )


def check_graph_precision(info: dict, precision: str, settings: Settings, device: Device) -> None:
    """Refuse an optimised graph whose convolutions do not run the requested precision."""
    convs = info["graph"].get("conv_nodes")
    if convs is None:
        return
    if precision == "int8":
        if not convs.get("int8"):
            raise Unsupported(
                f"int8 at graph_optimization={settings.graph_optimization}: onnxruntime "
                "runs the QDQ graph with float convolutions (it fuses QDQ into integer "
                "kernels at extended or all)"
            )
    elif precision == "fp16" and device.kind == "cuda" and not convs.get("fp16"):
        raise Unsupported(f"fp16 on {device.name}: no convolution kept fp16 weights")
    elif precision == "fp32" and convs.get("int8"):
        info["precision_note"] = "the model file itself holds integer convolutions"
