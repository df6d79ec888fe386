"""Per-layer replay (mode ``replay``): every distinct layer timed in isolation, in the worker.

Seed 001 measures time and energy per layer; meters update far slower than a layer runs, so each
distinct layer configuration is replayed on its own, on the same engine and target, long enough
to be timed (and, with an energy probe, long enough for the meter: the window rule of
:func:`~cnnbench.measure.timing.time_calls`):

* ONNX engines: the one-layer sub-model of each distinct node (:func:`cnnbench.graph.slice.
  slice_node` on the very export the engine runs), prepared by the engine with the spec's target.
  A node with several activation inputs (Add, Concat) keeps the first as the model's input and
  gets the others as seeded constants, since sessions feed one input;
* torch: each leaf module called on the inputs it received in a forward pass of the prepared
  module (so threads, dtype and memory format are the session's).

Every layer of the network gets the median time (and energy) of its configuration's replay. The
sum over layers against the whole network's unprofiled median is the replay's gap: engines fuse
layers in the network that run apart here, so the sum is usually larger, and the gap says so.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnbench.engines.base import EngineLayer
from cnnbench.errors import Unsupported
from cnnbench.measure.probes.base import Probe, probe_window
from cnnbench.measure.timing import time_calls
from cnnbench.results.meters import Energy
from cnnbench.spec import Budget, RunSpec

if TYPE_CHECKING:
    import onnx

    from cnnbench.engines.base import Engine, Session
    from cnnbench.models.instance import ModelInstance

REPLAY_MIN_S = 0.05  # seconds of timing per distinct layer at least
REPLAY_MAX_S = 0.5  # and at most (the spec's budget is shared among the configurations)
REPLAY_SEED = 1


@dataclass(frozen=True)
class Replayed:
    """One distinct configuration's replay: median time, calls, energy per call (or None)."""

    time_us: float
    calls: int
    energy_j: float | None
    energy_reason: str | None


def replay_budget(spec: RunSpec, configurations: int) -> Budget:
    share = spec.budget.seconds / max(1, configurations)
    seconds = min(REPLAY_MAX_S, max(REPLAY_MIN_S, share))
    return Budget(seconds=seconds, min_samples=5, warmup_max_s=min(0.2, seconds))


def time_replay(call: Callable[[], object], budget: Budget, probes: Sequence[Probe]) -> Replayed:
    """Warm up and time ``call``; with probes, read energy over the timed window."""
    window = probe_window(probes)
    min_window_s = max((p.min_window_s for p in probes), default=0.0)
    timing = time_calls(call, budget, window=window, min_window_s=min_window_s)
    calls = len(timing.samples_ns) + timing.extra_calls
    energy_j, reason = None, None
    readings = [r for r in window.readings if r.kind == "energy"]
    if readings:
        energy = Energy.from_readings([(r, calls) for r in readings], None)
        energy_j, reason = energy.j_per_inference, energy.reason
    return Replayed(statistics.median(timing.samples_ns) / 1e3, calls, energy_j, reason)


def single_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with every graph input after the first turned into a seeded constant."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    if len(graph.input) <= 1:
        return model
    rng = np.random.default_rng(REPLAY_SEED)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    for info in list(out.graph.input)[1:]:
        dims = [d.dim_value for d in info.type.tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type)
        data = rng.standard_normal(dims).astype(dtype)
        out.graph.initializer.append(numpy_helper.from_array(data, info.name))
        out.graph.input.remove(info)
    return out


def replay_onnx(
    engine: Engine, spec: RunSpec, onnx_path: Path, probes: Sequence[Probe]
) -> tuple[list[EngineLayer], dict[str, Replayed], int]:
    """Replays of every distinct node of ``onnx_path`` on ``engine``: one layer per node (in
    graph order) with its configuration's time, the replays by node, and the count of
    distinct configurations."""
    import onnx

    from cnnbench.graph.slice import activation_inputs, distinct_layers, slice_node
    from cnnbench.models.instance import ModelInstance

    if spec.target.precision == "int8":
        raise Unsupported("replay: int8 would quantise each one-layer model on its own")
    groups = distinct_layers(onnx_path)
    budget = replay_budget(spec, len(groups))
    model = onnx.load(str(onnx_path))
    by_node: dict[str, Replayed] = {}
    op_types: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="cnnbench-replay-") as folder:
        for i, group in enumerate(groups):
            node = group.nodes[0]
            sliced = single_input(slice_node(model, node))
            ((_, shape),) = activation_inputs(sliced)[:1] or ((None, ()),)
            if not shape:
                continue  # a node fed by constants alone (a shape computation): nothing to run
            path = Path(folder) / f"layer{i}.onnx"
            onnx.save(sliced, str(path))
            instance = ModelInstance(node, None, tuple(shape), {"onnx_path": str(path)})
            session = engine.prepare(instance, spec.target)
            array = np.random.default_rng(REPLAY_SEED).standard_normal(shape, dtype=np.float32)
            inputs = session.make_inputs(array)
            with session.context():
                replayed = time_replay(session.timed_call(inputs), budget, probes)
            for name in group.nodes:
                by_node[name] = replayed
                op_types[name] = group.config.op_type
    layers = [
        EngineLayer(name, op_types[name], r.time_us, (name,), calls=1)
        for name, r in _in_graph_order(model, by_node)
    ]
    return layers, by_node, len(groups)


def _in_graph_order(model: onnx.ModelProto, by_node: dict[str, Replayed]) -> list[tuple[str, Any]]:
    names = [n.name or f"{n.op_type}_{i}" for i, n in enumerate(model.graph.node)]
    return [(n, by_node[n]) for n in names if n in by_node]


def replay_torch(
    session: Session, inputs: Any, spec: RunSpec, probes: Sequence[Probe]
) -> tuple[list[EngineLayer], dict[str, Replayed], int]:
    """Replays of every distinct leaf module of the torch session's module, each called on the
    inputs it received in one forward pass of the prepared module."""
    import torch

    from cnnbench.engines.torch.profile import leaf_modules

    module = getattr(session, "module", None)
    if module is None:
        raise Unsupported("replay: this torch session keeps no module")
    seen: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    handles = []
    for path, leaf in leaf_modules(module):

        def hook(_m: Any, args: tuple[Any, ...], path: str = path, leaf: Any = leaf) -> None:
            seen.setdefault(
                path, (leaf, tuple(a.detach() if torch.is_tensor(a) else a for a in args))
            )

        handles.append(leaf.register_forward_pre_hook(hook))
    try:
        with session.context():
            session.run(inputs)
    finally:
        for handle in handles:
            handle.remove()
    groups: dict[tuple[str, tuple[object, ...]], list[str]] = {}
    for path, (leaf, args) in seen.items():
        shapes = tuple(tuple(a.shape) if torch.is_tensor(a) else repr(a) for a in args)
        groups.setdefault((repr(leaf), shapes), []).append(path)
    budget = replay_budget(spec, len(groups))
    by_path: dict[str, Replayed] = {}
    with session.context():
        for paths in groups.values():
            leaf, args = seen[paths[0]]
            replayed = time_replay(_bound(leaf, args), budget, probes)
            for path in paths:
                by_path[path] = replayed
    layers = [
        EngineLayer(path, type(seen[path][0]).__name__, by_path[path].time_us, (path,), calls=1)
        for path in seen
    ]
    return layers, by_path, len(groups)


def _bound(leaf: Any, args: tuple[Any, ...]) -> Callable[[], object]:
    def call() -> object:
        return leaf(*args)

    return call


def replay_layers(
    engine: Engine,
    spec: RunSpec,
    session: Session,
    inputs: Any,
    instance: ModelInstance,
    probes: Sequence[Probe],
) -> tuple[list[EngineLayer], dict[str, Replayed], int]:
    """The replay of ``spec``'s network on its engine (torch: modules; others: ONNX nodes)."""
    if spec.target.engine == "torch":
        return replay_torch(session, inputs, spec, probes)
    from cnnbench.graph.source import source_onnx

    return replay_onnx(engine, spec, source_onnx(instance).path, probes)
