"""OpenVINO's own per-node profiler (``PERF_COUNT``), mapped back to the ONNX graph's nodes.

:func:`profile` compiles the session's OpenVINO model a second time, with the session's own
configuration plus ``PERF_COUNT`` (the timed session stays compiled without it, so profiling
never distorts it), runs ``calls`` synchronous infers on one request and reads
``request.profiling_info`` after each: one :class:`~cnnbench.engines.base.EngineLayer` per node
whose status is ``EXECUTED`` (``real_time`` -> ``time_us``, ``cpu_time`` -> ``cpu_time_us``,
``exec_type`` -> ``kernel``), in the runtime model's execution order. The CPU plugin reports a
running mean over every execution since compilation, not the latest call: see
:class:`ProfiledRequest` for how one call's times are recovered from it. Nodes OpenVINO fused into
another one (a Relu into its convolution) report ``NOT_RUN`` and are dropped: their time is in
the node that absorbed them.

Source layers: each node of the runtime model carries ``originalLayersNames`` (rt_info,
comma-separated), the friendly names of the OpenVINO ops it executes. Those are names of
OpenVINO's ONNX frontend, not ONNX node names: an ONNX ``Conv`` with a bias becomes
``/0/Conv/WithoutBiases`` (Convolution) plus ``/0/Conv`` (Add), a graph output's producer is named
after the output tensor (``output`` for ``/12/Gemm``), and a decomposition adds anonymous helper
ops (``Reshape_5653``). :func:`source_map` resolves them against the ONNX file the engine read:
an op whose output tensor is an ONNX node's output is that node; else an op named like an ONNX
node, or under one (``/0/Conv/...``), is that node; else the nearest resolved ops downstream of it
in the OpenVINO model (a helper belongs to the node it feeds). Names that resolve to nothing
(ops the CPU plugin created during compilation) are left out; reorders OpenVINO inserted have no
source layers at all.

The profiler reports times with microsecond resolution. Engines report, they do not compute
rates: the median over calls, shares and overhead are :mod:`cnnbench.measure`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cnnbench.engines.base import Around, EngineLayer, call_with
from cnnbench.errors import BadInput

PROFILING_KEY = "PERF_COUNT"  # ov.properties.enable_profiling()


def _us(delta: Any) -> float:
    """A ``datetime.timedelta`` (how the bindings give ``real_time``) in microseconds."""
    return float(delta.total_seconds()) * 1e6


def _rt(rt_info: Any, key: str) -> str | None:
    try:
        return str(rt_info[key].astype(str))
    except (KeyError, RuntimeError, AttributeError):
        return None


def onnx_names(onnx_path: str | Path) -> tuple[dict[str, str], set[str]]:
    """``{output tensor: node name}`` and the node names of an ONNX file (weights not loaded).
    A node without a name is named by its first output, as OpenVINO's frontend does."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    by_tensor: dict[str, str] = {}
    names: set[str] = set()
    for node in graph.node:
        name = node.name or (node.output[0] if node.output else "")
        if not name:
            continue
        names.add(name)
        for out in node.output:
            if out:
                by_tensor[out] = name
    return by_tensor, names


def _under(name: str, nodes: set[str]) -> str | None:
    """The ONNX node ``name`` is, or is nested under (``/0/Conv/WithoutBiases`` -> ``/0/Conv``)."""
    if name in nodes:
        return name
    head = name
    while "/" in head:
        head = head.rsplit("/", 1)[0]
        if head in nodes:
            return head
    return None


def source_map(ov_model: Any, by_tensor: dict[str, str], nodes: set[str]) -> dict[str, list[str]]:
    """OpenVINO friendly name -> the ONNX node names it comes from, for every op of ``ov_model``
    (the model as read from ONNX, before compilation) that resolves to at least one."""
    ops = list(ov_model.get_ordered_ops())
    resolved: dict[str, list[str]] = {}
    pending = []
    for op in ops:
        kind = op.get_type_name()
        name = op.get_friendly_name()
        if kind in ("Parameter", "Result"):
            continue
        hit = [by_tensor[t] for out in op.outputs() for t in out.get_names() if t in by_tensor]
        if not hit and kind != "Constant":
            under = _under(name, nodes)
            hit = [under] if under else []
        if hit:
            resolved[name] = list(dict.fromkeys(hit))
        elif kind != "Constant":
            pending.append(op)
    for op in pending:  # a helper op belongs to the nearest resolved ops it feeds
        found: list[str] = []
        seen = {op.get_friendly_name()}
        queue = deque([op])
        while queue and not found:
            for _ in range(len(queue)):
                cur = queue.popleft()
                for out in cur.outputs():
                    for inp in out.get_target_inputs():
                        nxt = inp.get_node()
                        key = nxt.get_friendly_name()  # wrappers are new objects each time
                        if key in seen:
                            continue
                        seen.add(key)
                        owner = resolved.get(key)
                        if owner:
                            found.extend(owner)
                        else:
                            queue.append(nxt)
        if found:
            resolved[op.get_friendly_name()] = list(dict.fromkeys(found))
    return resolved


def runtime_sources(
    runtime_model: Any, names: dict[str, list[str]], nodes: set[str]
) -> dict[str, tuple[tuple[str, ...], int]]:
    """Runtime node name -> (its ONNX source layers, its execution order)."""
    out: dict[str, tuple[tuple[str, ...], int]] = {}
    for i, op in enumerate(runtime_model.get_ordered_ops()):
        rt = op.get_rt_info()
        original = _rt(rt, "originalLayersNames") or ""
        sources: list[str] = []
        for part in original.split(","):
            part = part.strip()
            if not part:
                continue
            hit = names.get(part)
            if hit is None:
                under = _under(part, nodes)
                hit = [under] if under else []
            sources.extend(hit)
        order_text = _rt(rt, "execOrder")
        try:
            order = int(order_text) if order_text is not None else i
        except ValueError:
            order = i
        out[op.get_friendly_name()] = (tuple(dict.fromkeys(sources)), order)
    return out


class ProfiledRequest:
    """One infer request of ``ov_model`` compiled with ``config`` plus profiling, whose
    :meth:`layers` gives the executed nodes of the latest :meth:`infer` alone.

    The CPU plugin's counters are per node and cumulative: each execution adds its duration,
    truncated to whole microseconds, and ``profiling_info`` reports the integer mean over every
    execution since compilation (a node whose mean is 0 us reads ``NOT_RUN``). One call's time is
    recovered as the difference of the running totals (mean x executions) before and after it,
    so it carries up to about ``n`` us of truncation error after ``n`` executions; negative
    differences read 0. A first, unreported infer (allocation, first touch) fixes the set of
    executed nodes, reported in every call.
    """

    def __init__(
        self,
        core: Any,
        ov_model: Any,
        device: str,
        config: dict[str, Any],
        onnx_path: str | Path,
        input_tensor: Any,
    ) -> None:
        self.compiled = core.compile_model(ov_model, device, {**config, PROFILING_KEY: True})
        by_tensor, nodes = onnx_names(onnx_path)
        names = source_map(ov_model, by_tensor, nodes)
        self.sources = runtime_sources(self.compiled.get_runtime_model(), names, nodes)
        self.request = self.compiled.create_infer_request()
        self.request.set_input_tensor(input_tensor)
        self.request.infer()  # the unreported first call
        self.count = 1
        first = list(self.request.profiling_info)
        self.rows = [info for info in first if _executed(info)]
        self.order = self._order(self.rows)
        self.totals = self._totals(first)
        self._latest: dict[str, tuple[float, float]] = {}

    def _order(self, rows: list[Any]) -> list[int]:
        keyed = [(self.sources.get(info.node_name, ((), i))[1], i) for i, info in enumerate(rows)]
        return [i for _, i in sorted(keyed)]

    def _totals(self, infos: Iterable[Any]) -> dict[str, tuple[float, float]]:
        return {
            info.node_name: (_us(info.real_time) * self.count, _us(info.cpu_time) * self.count)
            for info in infos
        }

    def infer(self) -> None:
        """One synchronous infer (what a caller times around)."""
        self.request.infer()
        self.count += 1

    def layers(self) -> list[EngineLayer]:
        """The executed nodes of the latest :meth:`infer`, in execution order."""
        totals = self._totals(self.request.profiling_info)
        out = []
        for i in self.order:
            info = self.rows[i]
            name = info.node_name
            real, cpu = totals.get(name, (0.0, 0.0))
            real0, cpu0 = self.totals.get(name, (0.0, 0.0))
            out.append(
                EngineLayer(
                    name=name,
                    op_type=info.node_type,
                    time_us=max(0.0, real - real0),
                    source_layers=self.sources.get(name, ((), 0))[0],
                    kernel=info.exec_type or None,
                    cpu_time_us=max(0.0, cpu - cpu0),
                )
            )
        self.totals = totals
        return out


def _executed(info: Any) -> bool:
    return str(info.status).rsplit(".", 1)[-1] == "EXECUTED"


def profile(
    core: Any,
    ov_model: Any,
    device: str,
    config: dict[str, Any],
    onnx_path: str | Path,
    input_tensor: Any,
    calls: int,
    around: Around | None = None,
) -> list[list[EngineLayer]]:
    """``calls`` synchronous infers of ``ov_model`` compiled with ``config`` plus profiling,
    one list of executed nodes per call."""
    if calls < 1:
        raise BadInput("profile: calls must be at least 1")
    profiled = ProfiledRequest(core, ov_model, device, config, onnx_path, input_tensor)
    result: list[list[EngineLayer]] = []
    for _ in range(calls):
        call_with(around, profiled.infer)
        result.append(profiled.layers())
    return result
