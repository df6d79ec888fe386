"""Per-model figures for listings: parameters, MACs and layer counts at batch 1.

Counted by the one cost model (:mod:`cnnbench.graph.cost`) on the very export the engines run,
so a listing, ``models --detail`` and a record's ``cost`` never disagree. Costing a model needs
its export (seconds for a large network, once: exports are cached), so the summary itself is
cached too, as a small JSON file keyed by model, input shape, torch version and the export and
cost-model formats; a second listing reads files only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cnnbench._fs import atomic_write
from cnnbench.graph.export import EXPORT_FORMAT, cache_dir
from cnnbench.models import ModelInfo

SUMMARY_FORMAT = "cnnbench.summary/2"  # bump when the cost model's counting changes
CONV_TYPES = ("conv", "conv_dw", "conv_group", "conv_1x1")


@dataclass(frozen=True)
class ModelSummary:
    params: int
    macs: int  # multiply-accumulates per image, every counted node
    conv_layers: int
    fc_layers: int
    uncounted_ops: int  # op types the cost model cannot count (totals are then lower bounds)
    uncounted_nodes: int = 0
    complete: bool = True  # every node counted and every shape known: not a lower bound

    @property
    def layers(self) -> int:
        return self.conv_layers + self.fc_layers


def _summary_path(info: ModelInfo) -> Path:
    import torch

    key = json.dumps(
        [
            info.name.lower(),
            list(info.input_shape),
            torch.__version__,
            EXPORT_FORMAT,
            SUMMARY_FORMAT,
        ],
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "_.-" else "-" for c in info.name.lower())
    return cache_dir().parent / "summary" / f"{safe}_{digest}.json"


def model_summary(info: ModelInfo) -> ModelSummary:
    """The cost model's figures for one model at batch 1 (cached on disk)."""
    cached = cached_summary(info)
    if cached is not None:
        return cached  # a damaged cache file reads as None and is recomputed
    if info.onnx_path is not None:
        from cnnbench.graph.cost import network_cost

        cost = network_cost(info.onnx_path)
    else:
        from cnnbench.graph.cost import model_cost

        cost = model_cost(info.name, info.input_shape, 1)
    types = [layer.layer_type for layer in cost.layers]
    batch = cost.batch if isinstance(cost.batch, int) and cost.batch > 0 else 1
    summary = ModelSummary(
        params=cost.params,
        macs=cost.macs // batch,
        conv_layers=sum(t in CONV_TYPES for t in types),
        fc_layers=sum(t == "fc" for t in types),
        uncounted_ops=len(cost.uncounted),
        uncounted_nodes=cost.uncounted_nodes,
        complete=cost.complete,
    )
    atomic_write(_summary_path(info), json.dumps(asdict(summary)))
    return summary


def summary_row(info: ModelInfo, s: ModelSummary) -> dict[str, object]:
    """One row of ``cnnbench models --json``."""
    return {
        "name": info.name,
        "family": info.family,
        "input_shape": list(info.input_shape),
        "dataset": info.dataset,
        "params": s.params,
        "macs": s.macs,
        "layers": s.layers,
        "conv_layers": s.conv_layers,
        "fc_layers": s.fc_layers,
        "uncounted_ops": s.uncounted_ops,
        "uncounted_nodes": s.uncounted_nodes,
        "complete": s.complete,
        "description": info.description,
    }


def cached_summary(info: ModelInfo) -> ModelSummary | None:
    """The cached summary of ``info``, or None when it has not been computed yet."""
    path = _summary_path(info)
    if not path.is_file():
        return None
    try:
        return ModelSummary(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None


def summaries_entry(payload: dict[str, object]) -> dict[str, object]:
    """Worker entry: compute (and cache) the summaries of the named models."""
    from cnnbench.models import get_model_info

    names = payload.get("names")
    if not isinstance(names, list):
        raise TypeError("payload 'names' must be a list")
    return {"summaries": {n: asdict(model_summary(get_model_info(str(n)))) for n in names}}


def detail_entry(payload: dict[str, object]) -> dict[str, object]:
    """Worker entry: the per-layer cost of one model at batch 1, for ``models --detail`` (and
    the predictors: ``fold_bn`` false costs the export that keeps BatchNorm). The
    export (the model's own code) and the cost model (which may run the graph with onnxruntime
    to learn its shapes) both run here, in the worker."""
    from cnnbench.errors import BadInput
    from cnnbench.graph.cost import network_cost
    from cnnbench.graph.export import onnx_path
    from cnnbench.models import get_model_info

    shape = payload.get("input_shape")
    try:
        info = get_model_info(
            str(payload["ref"]), tuple(shape) if isinstance(shape, list) else None
        )
    except BadInput as exc:
        return {"bad_input": str(exc)}
    except OSError as exc:  # a path the file system refuses (too long, a loop, no access)
        from cnnbench.models.describe import os_error_message

        return {"bad_input": os_error_message(str(payload["ref"]), exc)}
    if info.onnx_path is not None:
        path = info.onnx_path
    else:
        path = onnx_path(
            info.name, (1, *info.input_shape), fold_bn=payload.get("fold_bn") is not False
        )
    cost = replace(network_cost(path), model=info.name)
    return {"cost": cost.to_dict(layers=True)}
