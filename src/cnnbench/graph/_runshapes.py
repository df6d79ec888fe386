"""Shapes that ONNX static inference leaves unknown, found by running the graph once.

Static inference stops at ops whose output shape depends on a computed value it does not
propagate: ``x.chunk(2, dim=1)`` exports (TorchScript exporter) as ``Shape -> Gather -> Div ->
Slice``, inference does not carry the value through ``Div``, and every node after the ``Slice``
has no shape. :func:`run_for_shapes` makes the unknown tensors extra graph outputs, runs one
inference with ONNX Runtime's CPUExecutionProvider at the graph's own (static) input shapes and
reads each output's shape and element type; :func:`add_value_info` writes them into the graph,
where :class:`~cnnbench.graph._graphview.GraphView` reads them like inferred shapes.

Only the tensors left unknown are requested (not every intermediate): the shapes are the same
and fewer activations are held at once. Inputs are seeded random normals (floating point) or
zeros (integers, booleans). ONNX Runtime is an optional dependency: without it, or when it cannot
run the graph, no shape is found and the reason says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    import onnx

Shape = tuple[int, ...]

EXECUTED: Final = "executed (onnxruntime)"
INPUT_SEED: Final = 0
_REASON_LIMIT: Final = 300


@dataclass(frozen=True)
class RunShapes:
    """What one run found: ``shapes[name] = (dims, ONNX element type)``, or why nothing."""

    shapes: dict[str, tuple[Shape, int]] = field(default_factory=dict)
    reason: str | None = None  # why no shapes were found (None when the run succeeded)


def run_for_shapes(model: onnx.ModelProto, names: Sequence[str]) -> RunShapes:
    """Run ``model`` once with onnxruntime (CPU) and read the shapes of the tensors ``names``.

    The model is changed only for the run (extra outputs) and restored before returning.
    """
    try:
        import onnxruntime as ort
    except Exception as exc:  # ImportError, or a wheel whose shared library does not load
        return RunShapes(reason=f"onnxruntime is not importable ({type(exc).__name__})")
    feeds = _feeds(model.graph)
    if isinstance(feeds, str):
        return RunShapes(reason=feeds)
    graph = model.graph
    wanted = list(dict.fromkeys(n for n in names if n))
    declared = len(graph.output)
    present = {o.name for o in graph.output}
    for name in wanted:
        if name not in present:
            graph.output.add().name = name  # type left open: the runtime infers it
    try:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3  # errors only
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        values = session.run(wanted, feeds)
    except Exception as exc:  # onnxruntime raises its own kinds for graphs it cannot run
        reason = f"onnxruntime could not run the graph: {type(exc).__name__}: {exc}"
        return RunShapes(reason=" ".join(reason.split())[:_REASON_LIMIT])
    finally:
        del graph.output[declared:]
    from onnx import helper

    found: dict[str, tuple[Shape, int]] = {}
    for name, value in zip(wanted, values, strict=True):
        if isinstance(value, np.ndarray):
            dtype = helper.np_dtype_to_tensor_dtype(value.dtype)
            found[name] = (tuple(int(d) for d in value.shape), int(dtype))
    return RunShapes(shapes=found)


def add_value_info(graph: onnx.GraphProto, shapes: dict[str, tuple[Shape, int]]) -> None:
    """Record ``shapes`` in the graph: a graph output's own type, else ``value_info`` (replacing
    entries of those names)."""
    from onnx import helper

    kept = [v for v in graph.value_info if v.name not in shapes]
    del graph.value_info[:]
    graph.value_info.extend(kept)
    outputs = {o.name: o for o in graph.output}
    for name, (dims, elem_type) in shapes.items():
        info = helper.make_tensor_value_info(name, elem_type, list(dims))
        if name in outputs:
            outputs[name].type.CopyFrom(info.type)
        else:
            graph.value_info.append(info)


def _feeds(graph: onnx.GraphProto) -> dict[str, Any] | str:
    """One input array per graph input (initializers excluded), or why none can be made."""
    from onnx import helper

    initializers = {t.name for t in graph.initializer}
    rng = np.random.default_rng(INPUT_SEED)
    feeds: dict[str, Any] = {}
    for info in graph.input:
        if info.name in initializers:
            continue
        if not info.type.HasField("tensor_type"):
            return f"graph input {info.name!r} is not a tensor"
        tensor = info.type.tensor_type
        dims = list(tensor.shape.dim) if tensor.HasField("shape") else None
        if dims is None or any(not d.HasField("dim_value") or d.dim_value < 1 for d in dims):
            return f"graph input {info.name!r} has no static shape to run the graph at"
        shape = tuple(int(d.dim_value) for d in dims)
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        except (KeyError, TypeError, ValueError):
            return f"graph input {info.name!r} has element type {tensor.elem_type}"
        if np.issubdtype(dtype, np.floating):
            feeds[info.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[info.name] = np.zeros(shape, dtype=dtype)
    return feeds
