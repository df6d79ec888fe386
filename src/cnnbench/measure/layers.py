"""Engine profiles normalised into layer records: one vocabulary, costs of the source layers.

An engine's :meth:`~cnnbench.engines.base.Session.profile` gives, per profiled call, the nodes
it executed with their own names, types and times (:class:`~cnnbench.engines.base.EngineLayer`).
Here each node becomes one :class:`~cnnbench.results.sections.LayerRecord`:

* ``time_ms``: the median of its times over the profiled calls;
* ``layer_type``: the taxonomy type of its source layers in the ONNX graph the cost model read
  (``fused(...)`` when it executes several kinds), else the engine's own node type mapped with
  :func:`cnnbench.graph.taxonomy.layer_type_of`;
* ``macs``, ``flops``, ``bytes``: the sums over its source layers (absent when any source layer
  is unknown to the cost model, never a partial sum);
* torch's source layers are module paths; an ONNX node exported from a module is matched to it
  through the exporter's scope name (``/stages/stages.0/body/body.0/Conv`` -> ``stages.0.body.0``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cnnbench.engines.base import EngineLayer
from cnnbench.graph.cost import LayerCost, NetworkCost
from cnnbench.graph.taxonomy import fused, layer_type_of
from cnnbench.results.sections import LayerRecord

if TYPE_CHECKING:
    from cnnbench.engines.base import Session
    from cnnbench.models.instance import ModelInstance

PROFILE_CALLS = 10  # profiled calls of a spec in profile mode


def module_path(onnx_node_name: str) -> str | None:
    """The torch module path an exported node's scope name encodes (None when it has none)."""
    parts = [p for p in onnx_node_name.strip("/").split("/") if p]
    if len(parts) < 2:
        return None
    path: list[str] = []
    previous = ""
    for part in parts[:-1]:  # the last part is the op (Conv, Relu, ...)
        local = part[len(previous) + 1 :] if previous and part.startswith(previous + ".") else part
        path.append(local)
        previous = part
    return ".".join(path)


def cost_index(cost: NetworkCost | None) -> dict[str, list[LayerCost]]:
    """Cost layers by ONNX node name and by the torch module path their names encode."""
    index: dict[str, list[LayerCost]] = {}
    for layer in cost.layers if cost is not None else ():
        index.setdefault(layer.name, []).append(layer)
        path = module_path(layer.name)
        if path:
            index.setdefault(path, []).append(layer)
    return index


def _sources(node: EngineLayer, index: Mapping[str, list[LayerCost]]) -> list[LayerCost] | None:
    """The cost layers a node executes, or None when one of its sources is not in the graph."""
    found: list[LayerCost] = []
    for name in node.source_layers:
        layers = index.get(name)
        if not layers:
            return None
        found += [x for x in layers if x not in found]
    return found or None


def _layer_type(node: EngineLayer, sources: Sequence[LayerCost] | None) -> str:
    if not sources:
        return layer_type_of(node.op_type)
    kinds: list[str] = []
    for layer in sources:
        if layer.layer_type not in kinds:
            kinds.append(layer.layer_type)
    return kinds[0] if len(kinds) == 1 else fused(*kinds)


def _sum(values: Sequence[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def normalise(
    calls: Sequence[Sequence[EngineLayer]], cost: NetworkCost | None
) -> tuple[LayerRecord, ...]:
    """One layer record per executed node, in the order of the first profiled call."""
    times: dict[str, list[float]] = {}
    first: dict[str, EngineLayer] = {}
    for call in calls:
        for node in call:
            first.setdefault(node.name, node)
            times.setdefault(node.name, []).append(node.time_us)
    index = cost_index(cost)
    out = []
    for name, node in first.items():
        sources = _sources(node, index)
        out.append(
            LayerRecord(
                name=name,
                layer_type=_layer_type(node, sources),
                source_layers=node.source_layers,
                time_ms=statistics.median(times[name]) / 1e3,
                calls=len(times[name]),
                kernel=node.kernel,
                macs=_sum([x.macs for x in sources]) if sources else None,
                flops=_sum([x.flops for x in sources]) if sources else None,
                bytes=(
                    sum(x.weight_bytes + x.input_bytes + x.output_bytes for x in sources)
                    if sources
                    else None
                ),
            )
        )
    return tuple(out)


def by_type(layers: Sequence[LayerRecord]) -> dict[str, tuple[float, int | None]]:
    """Total time (ms) and FLOPs per layer type (FLOPs None when any layer's is unknown)."""
    out: dict[str, tuple[float, int | None]] = {}
    for layer in layers:
        time_ms, flops = out.get(layer.layer_type, (0.0, 0))
        add = layer.flops
        out[layer.layer_type] = (
            time_ms + (layer.time_ms or 0.0),
            None if flops is None or add is None else flops + add,
        )
    return out


def profile_layers(
    session: Session, inputs: Any, instance: ModelInstance, calls: int
) -> tuple[LayerRecord, ...]:
    """A spec in ``profile`` mode: ``calls`` calls under the engine's own profiler, after the
    unprofiled timing, normalised against the cost model of the ONNX file the engines run (the
    layers stand without costs when the cost model fails)."""
    from cnnbench.graph.cost import network_cost
    from cnnbench.graph.source import source_onnx

    try:
        cost: NetworkCost | None = network_cost(source_onnx(instance).path)
    except Exception:
        cost = None
    return normalise(session.profile(inputs, calls), cost)
