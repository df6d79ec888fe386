"""Figures the parent adds to a measured record: the roofline against this machine's peaks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cnnbench.graph.record_cost import graph_cost, merge_cost
from cnnbench.results.record import ResultRecord
from cnnbench.results.roofline import roofline


def with_cost_and_roofline(rec: ResultRecord, peaks: list[dict[str, Any]]) -> ResultRecord:
    """Attach the cost model's per-image figures and the roofline to a measured record."""
    spec = rec.spec
    cost = merge_cost(graph_cost(spec.model.name, spec.input_shape), rec.cost)
    if rec.status != "ok":
        return replace(rec, cost=cost)
    flops = cost.get("flops")
    weight_bytes = cost.get("weight_bytes")
    activation_bytes = cost.get("activation_bytes")
    batch = rec.throughput.get("best_batch", spec.batch) if rec.throughput else spec.batch
    moved = None
    if weight_bytes is not None and activation_bytes is not None:
        moved = weight_bytes / batch + activation_bytes
    threads = rec.effective.get("threads") or spec.target.threads
    line = roofline(
        flops_per_image=flops,
        bytes_per_image=moved,
        images_per_s=rec.throughput_ips,
        precision=str(rec.effective.get("precision", spec.target.precision)),
        threads=threads if isinstance(threads, int) else None,
        peaks=peaks,
    )
    return replace(rec, cost=cost, roofline=line)
