"""Per-image cost for result records, from the ONNX cost model (computed once per model/shape).

The worker also counts MACs with PyTorch's own FLOP counter; that figure stays in the record as
an independent cross-check (``cost.crosscheck``).
"""

from __future__ import annotations

import functools
from typing import Any

from cnnbench.errors import CnnbenchError


@functools.lru_cache(maxsize=64)
def graph_cost(model: str, sample_shape: tuple[int, ...]) -> dict[str, Any]:
    """The ``cost`` section for ``model`` at one image of ``sample_shape``.

    The graph is the very file the ONNX-based engines run at batch 1: the module is built as the
    worker builds it (same seed) and goes through the same export cache, so a model is exported
    once, not once for the engines and once more for the cost.
    """
    from cnnbench.graph import network_cost
    from cnnbench.models import get_model_info

    try:
        info = get_model_info(model, sample_shape)
        if info.onnx_path is not None:
            cost = network_cost(info.onnx_path)
        else:
            cost = network_cost(_engine_onnx(model, sample_shape))
    except (CnnbenchError, RuntimeError, ValueError, OSError) as exc:
        return {"source": "none", "reason": f"cost model failed: {exc}"[:500]}
    per = cost.batch
    if any(not isinstance(d, int) for d in cost.input_shape):
        return {"source": "none", "reason": "the ONNX graph has symbolic dimensions"}
    return {
        "source": "cnnbench.graph ONNX cost model (BatchNorm folded by the exporter)",
        "per": "image",
        "macs": cost.macs // per,
        "flops": 2 * cost.macs // per,
        "flops_all_ops": cost.flops // per,
        "params": cost.params,
        "weight_bytes": cost.weight_bytes,
        "activation_bytes": cost.activation_bytes // per,
        "layers": len(cost.layers),
        "uncounted": list(cost.uncounted),
        "macs_by_type": {k: v.macs for k, v in cost.by_type.items() if v.macs},
    }


def _engine_onnx(model: str, sample_shape: tuple[int, ...]) -> Any:
    import torch

    from cnnbench.engines.base import ModelInstance
    from cnnbench.graph.export import SEED
    from cnnbench.graph.source import source_onnx
    from cnnbench.models import create_model

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        module = create_model(model)
    return source_onnx(ModelInstance(model, module, (1, *sample_shape))).path


def merge_cost(graph: dict[str, Any], worker: dict[str, Any] | None) -> dict[str, Any]:
    """The graph cost, with the worker's torch-counter figures as a cross-check."""
    if graph.get("source") == "none":
        if worker:
            return dict(worker, graph_cost=graph)
        return graph
    out = dict(graph)
    if worker:
        out["crosscheck"] = {
            "source": worker.get("source"),
            "macs": worker.get("macs"),
            "params": worker.get("params"),
        }
    return out
