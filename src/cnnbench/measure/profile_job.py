"""The per-layer profile of a prepared session (mode ``profile``), inside the worker.

After the timed window (no profiler: the unprofiled end-to-end latency), ``calls`` calls run
under the engine's own profiler (:meth:`~cnnbench.engines.base.Session.profile`); each is timed
here with a wall clock around it (engines never read one), which gives the profiler's own
distortion. Layers are normalised against the cost model of the very ONNX file the engine runs
(for torch, the export that matches its BatchNorm handling), see :mod:`cnnbench.measure.layers`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cnnbench.graph.taxonomy import BATCHNORM
from cnnbench.measure.layers import normalise
from cnnbench.results.profile import Profile
from cnnbench.results.sections import LayerRecord

if TYPE_CHECKING:
    from cnnbench.engines.base import Engine, Session
    from cnnbench.graph.cost import NetworkCost
    from cnnbench.measure.probes.base import Probe
    from cnnbench.models.instance import ModelInstance
    from cnnbench.spec import RunSpec

PROFILERS = {
    "torch": "torch.profiler (leaf-module ranges)",
    "onnxruntime": "onnxruntime profiler (node kernel times)",
    "openvino": "openvino PERF_COUNT (per executed node)",
}
NO_WALL_CLOCK = "the engine's profile() did not make its calls through the timing wrapper"


def batchnorm_note(folded: bool, cost: NetworkCost | None, layers: Sequence[LayerRecord]) -> str:
    """Where BatchNorm went, in words, from the graph and the executed layers."""
    in_graph = sum(1 for x in cost.layers if x.layer_type == BATCHNORM) if cost else None
    alone = sum(1 for x in layers if x.layer_type == BATCHNORM)
    fused = sum(
        1 for x in layers if x.layer_type.startswith("fused(") and BATCHNORM in x.layer_type
    )
    ran = f"{alone} ran as layers of their own, {fused} inside layers the engine fused"
    if folded:
        left = "" if not in_graph else f"; {in_graph} not after a conv stay in the graph ({ran})"
        return (
            "folded into the preceding conv before the engine ran (at export for the ONNX "
            f"engines, torch.fx for torch with fold_bn=1): its time is the conv's{left}; "
            "the option fold_bn=0 keeps it"
        )
    graph = f"{in_graph} in the graph" if in_graph is not None else "the graph was not costed"
    if in_graph and not alone and not fused:
        ran = (
            "none ran as a layer or inside a layer the engine names: the engine folded them "
            "away at compile time (into the weights) without a trace in its profile"
        )
    return f"kept (fold_bn=0, or torch eager): {graph}; {ran}"


def replay_session(
    engine: Engine,
    spec: RunSpec,
    session: Session,
    inputs: Any,
    instance: ModelInstance,
    *,
    probes: Sequence[Probe],
    cost: NetworkCost | None,
    end_to_end_ms: float,
    folded_bn: bool,
) -> tuple[tuple[LayerRecord, ...], Profile]:
    """Mode replay: every distinct layer timed alone (:mod:`cnnbench.measure.replay`); each
    layer of the network gets its configuration's time and, with a meter, energy per call."""
    from cnnbench.measure.replay import replay_layers

    raw, replayed, configurations = replay_layers(engine, spec, session, inputs, instance, probes)
    layers = tuple(
        replace(layer, energy_j=replayed[layer.name].energy_j) for layer in normalise([raw], cost)
    )
    layers_ms = sum(x.time_ms or 0.0 for x in layers)
    gap = end_to_end_ms - layers_ms
    notes = [
        f"replay: {configurations} distinct configuration(s) for {len(layers)} layer(s), each "
        "timed alone; the gap (whole network - sum) is the overhead column",
        "gap: negative, the layers alone take longer than the network, where the engine fuses "
        "them and keeps data in cache"
        if gap < 0
        else "gap: positive, the network spends time outside its layers",
    ]
    reasons = {r.energy_reason for r in replayed.values() if r.energy_reason}
    if probes and any(r.energy_j is None for r in replayed.values()):
        notes.append("energy per layer: not measured (" + "; ".join(sorted(reasons))[:300] + ")")
    profile = Profile(
        profiler=f"isolated replay on {spec.target.engine} (one-layer sub-models or modules)",
        calls=min((r.calls for r in replayed.values()), default=1) or 1,
        end_to_end_ms=end_to_end_ms,
        layers_ms=layers_ms,
        batchnorm=batchnorm_note(folded_bn, cost, layers),
        notes=tuple(notes),
    )
    return layers, profile


def profile_session(
    session: Session,
    inputs: Any,
    *,
    calls: int,
    engine: str,
    cost: NetworkCost | None,
    end_to_end_ms: float,
    folded_bn: bool,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> tuple[tuple[LayerRecord, ...], Profile]:
    """The layers of ``calls`` profiled calls (median times) and the profile's summary."""
    wall_ns: list[int] = []

    def around(call: Callable[[], object]) -> object:
        start = clock()
        try:
            return call()
        finally:
            wall_ns.append(clock() - start)

    raw = session.profile(inputs, calls, around)
    layers = normalise(raw, cost)
    layers_ms = sum(x.time_ms or 0.0 for x in layers)
    notes = []
    if layers_ms > end_to_end_ms:
        notes.append(
            "overhead: negative, the profiled layer times add up to more than an unprofiled "
            "call (the profiler's own cost exceeds the overhead); read the shares, not the sum"
        )
    if not wall_ns:
        notes.append(f"distortion: not measured ({NO_WALL_CLOCK})")
    if cost is None:
        notes.append("costs: the cost model did not run, layers have no FLOPs")
    profile = Profile(
        profiler=PROFILERS.get(engine, f"{engine}'s profiler"),
        calls=len(raw),
        end_to_end_ms=end_to_end_ms,
        layers_ms=layers_ms,
        profiled_end_to_end_ms=statistics.median(wall_ns) / 1e6 if wall_ns else None,
        batchnorm=batchnorm_note(folded_bn, cost, layers),
        notes=tuple(notes),
    )
    return layers, profile
