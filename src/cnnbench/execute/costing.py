"""Costs for listings and ``models --detail``, with every export made in a worker.

Building a model and exporting it runs the model's own code (a user's factory, or a zoo network
on an exporter that may crash or hang), and the cost model may run a graph with onnxruntime to
learn its shapes: all of that happens in a worker. The parent only reads what the worker returns
and the cached summaries.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnbench.errors import BadInput, CnnbenchError
from cnnbench.graph.cost import NetworkCost
from cnnbench.graph.summary import ModelSummary, cached_summary
from cnnbench.measure.isolation import run_worker
from cnnbench.models import ModelInfo

DETAIL_ENTRY = "cnnbench.graph.summary:detail_entry"
SUMMARIES_ENTRY = "cnnbench.graph.summary:summaries_entry"
EXPORT_TIMEOUT_S = 600.0
PER_MODEL_TIMEOUT_S = 300.0  # a listing's worker may export this long per missing model


def summaries(infos: Sequence[ModelInfo]) -> list[ModelSummary]:
    """The cost model's summary of each model: from the cache, the missing ones computed (and
    cached) by one worker."""
    found = {i.name: cached_summary(i) for i in infos}
    missing = [name for name, s in found.items() if s is None]
    if missing:
        outcome = run_worker(
            SUMMARIES_ENTRY, {"names": missing}, timeout_s=PER_MODEL_TIMEOUT_S * len(missing)
        )
        if outcome.status != "ok":
            raise CnnbenchError(f"costing {', '.join(missing)}: {outcome.status}: {outcome.error}")
        for name, fields in outcome.result["summaries"].items():
            found[name] = ModelSummary(**fields)
    return [s for s in (found[i.name] for i in infos) if s is not None]


def detail_cost(
    ref: str, input_shape: tuple[int, ...] | None = None, *, fold_bn: bool = True
) -> NetworkCost:
    """Per-layer cost of one model at batch 1, made in a worker (export and cost model); an
    ONNX file is costed as it is, a module's export with BatchNorm folded unless ``fold_bn``
    is false."""
    payload = {
        "ref": ref,
        "input_shape": list(input_shape) if input_shape else None,
        "fold_bn": fold_bn,
    }
    outcome = run_worker(DETAIL_ENTRY, payload, timeout_s=EXPORT_TIMEOUT_S)
    result = outcome.result
    if outcome.status == "ok" and "bad_input" in result:
        raise BadInput(str(result["bad_input"]))
    if outcome.status != "ok":
        raise CnnbenchError(f"costing {ref}: {outcome.status}: {outcome.error}")
    return NetworkCost.from_dict(result["cost"])
