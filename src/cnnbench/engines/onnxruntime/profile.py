"""Per-node profiling on ONNX Runtime, from ORT's own profiler.

The prepared session runs without profiling (the profiler costs time on every call), so
:func:`profile_runs` builds a second ``InferenceSession`` on the same model file with the same
session options and providers plus ``enable_profiling`` (its file prefix in a temporary folder),
makes one unreported warm-up call (the first call of a session pays for arena growth and kernel
set-up), then ``calls`` synchronous calls. ``end_profiling()`` writes a Chrome-trace JSON file:
``Session`` events ``model_run`` bracket each call, and each executed node has a ``Node`` event
``<node>_kernel_time`` with ``dur`` in microseconds and ``args`` ``op_name`` and ``provider``.
The file and its folder are deleted after parsing, also when anything fails.

Source layers. ORT optimises the graph it loads: the node names in the profile are those of the
optimised graph. A node that kept its name (an unfused Conv, MaxPool, Gemm ...) maps to the node of
the same name in the ONNX file the engine loaded. A node ORT fused into an NCHWc kernel is named
``<output tensor>_nchwc``: it maps to the source node producing that tensor and, where that node is
not of the executed op type (a Conv with its activation fused in, named after the Relu's output),
up through the single-input chain of source nodes to the one of the executed op type, so a fused
Conv+Relu lists both (``("/0/Conv", "/2/Relu")``). Anything else (layout conversions
``ReorderInput``/``ReorderOutput`` that ORT inserted, fused nodes under names of ORT's own) keeps
its optimised node name as its only source layer. BatchNorm is normally folded into the preceding
convolution by the ONNX exporter already, so it appears in no source layer at all.
"""

from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cnnbench.engines.base import Around, EngineLayer, call_with

_KERNEL_SUFFIX = "_kernel_time"
_NCHWC_SUFFIX = "_nchwc"
_RUN_EVENT = "model_run"
_FUSED_PREFIX = "fused "  # the name ORT gives a node it fused an activation into
_MAX_FUSED_CHAIN = 4  # source nodes walked up from a fused node's output to its main op


def profile_runs(
    rt: Any,
    model_path: Path,
    options: Any,
    providers: list[Any],
    input_name: str,
    input_value: Any,
    output_names: list[str],
    calls: int,
    around: Around | None = None,
) -> list[list[EngineLayer]]:
    """``calls`` profiled synchronous calls on a fresh profiling session: one list per call."""
    if calls < 1:
        raise ValueError(f"calls must be at least 1, not {calls}")
    folder = tempfile.mkdtemp(prefix="cnnbench-ort-prof-")
    try:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(folder) / "ort")
        session = rt.InferenceSession(str(model_path), options, providers=providers)
        try:
            binding = session.io_binding()
            binding.bind_ortvalue_input(input_name, input_value)
            for name in output_names:
                binding.bind_output(name, "cpu")
            session.run_with_iobinding(binding)  # the warm-up, dropped below
            for _ in range(calls):
                call_with(around, functools.partial(session.run_with_iobinding, binding))
        finally:
            trace = Path(session.end_profiling())
        try:
            events = json.loads(trace.read_text())
        finally:
            trace.unlink(missing_ok=True)
        runs = split_runs(events)
        if len(runs) != calls + 1:
            raise RuntimeError(f"onnxruntime's profile has {len(runs)} runs; {calls + 1} were made")
        sources = source_graph(model_path)
        return [[to_layer(e, sources) for e in run] for run in runs[1:]]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def split_runs(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The ``Node`` kernel-time events of each run, runs in order, nodes by start time.

    A node event belongs to the ``model_run`` event whose span contains its start."""
    spans = sorted(
        (int(e["ts"]), int(e["ts"]) + int(e.get("dur", 0)))
        for e in events
        if e.get("cat") == "Session" and e.get("name") == _RUN_EVENT
    )
    runs: list[list[dict[str, Any]]] = [[] for _ in spans]
    nodes = sorted(
        (e for e in events if e.get("cat") == "Node" and e["name"].endswith(_KERNEL_SUFFIX)),
        key=lambda e: int(e["ts"]),
    )
    for event in nodes:
        ts = int(event["ts"])
        for i, (start, end) in enumerate(spans):
            if start <= ts <= end:
                runs[i].append(event)
                break
        else:
            raise RuntimeError(f"onnxruntime profile: node event {event['name']} is in no run")
    return runs


class SourceGraph:
    """Node names, op types and tensor producers of the ONNX file the engine loaded."""

    def __init__(self, nodes: list[tuple[str, str, list[str], list[str]]]) -> None:
        self.op_type = {name: op for name, op, _, _ in nodes}
        self.inputs = {name: ins for name, _, ins, _ in nodes}
        self.producer = {out: name for name, _, _, outs in nodes for out in outs if out}
        self.consumers: dict[str, list[str]] = {}
        for name, _, ins, _ in nodes:
            for tensor in ins:
                self.consumers.setdefault(tensor, []).append(name)
        self.outputs = {name: outs for name, _, _, outs in nodes}

    def sources(self, name: str, op_type: str) -> tuple[str, ...]:
        if name in self.op_type:
            return (name,)
        main = name.removeprefix(_FUSED_PREFIX)
        if main != name and main in self.op_type:
            # ORT's activation fusion (FusedGemm, FusedConv on the default provider) names the
            # fused node "fused <main node>"; the activation it absorbed is the main node's
            # only consumer.
            outs = [t for t in self.outputs[main] if t]
            users = self.consumers.get(outs[0], []) if len(outs) == 1 else []
            if op_type.startswith("Fused") and len(users) == 1:
                return (main, users[0])
            return (main,)
        tensor = name.removesuffix(_NCHWC_SUFFIX)
        if tensor == name or tensor not in self.producer:
            return (name,)  # not a node of the loaded file: the optimised node's name
        chain = [self.producer[tensor]]
        want = op_type.removeprefix("Fused")
        while self.op_type[chain[-1]] != want and len(chain) < _MAX_FUSED_CHAIN:
            ins = self.inputs[chain[-1]]
            up = self.producer.get(ins[0]) if ins else None
            if up is None:
                return (chain[0],)  # no source node of the executed type: the output's producer
            chain.append(up)
        if self.op_type[chain[-1]] != want:
            return (chain[0],)
        return tuple(reversed(chain))


def source_graph(path: Path) -> SourceGraph:
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return SourceGraph([(n.name, n.op_type, list(n.input), list(n.output)) for n in graph.node])


def to_layer(event: dict[str, Any], sources: SourceGraph) -> EngineLayer:
    args = event.get("args", {})
    name = event["name"].removesuffix(_KERNEL_SUFFIX)
    op_type = str(args.get("op_name", ""))
    provider = args.get("provider")
    kernel = f"{provider}:{op_type}" if provider else op_type or None
    return EngineLayer(
        name=name,
        op_type=op_type,
        time_us=float(event.get("dur", 0)),
        source_layers=sources.sources(name, op_type),
        kernel=kernel,
    )
