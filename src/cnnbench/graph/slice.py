"""Cut one-layer sub-models out of an ONNX graph, and group the layers by configuration.

:func:`slice_node` makes a standalone model of one node: its activation inputs become graph
inputs (with the static shapes shape inference found), the constants it reads (weights, biases,
shape tensors) come along as initializers, its outputs are the graph's outputs. It runs on any
ONNX engine as it is, so a layer can be replayed in isolation (timed, or for long enough to
integrate a slow energy meter). :func:`distinct_layers` groups the nodes whose configuration
(op type, attributes, input shapes and dtypes) is the same: each group is replayed once and
weighted by its count. The prediction issue reuses both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnbench.graph._graphview import GraphView, plain_attribute

if TYPE_CHECKING:
    import onnx

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LayerConfig:
    """What makes two nodes the same layer for a replay."""

    op_type: str
    attributes: tuple[tuple[str, str], ...]
    inputs: tuple[tuple[str, Shape | None], ...]  # ("x" activation | "w" constant, shape)

    def describe(self) -> str:
        shapes = ", ".join(f"{k}{list(s) if s else '?'}" for k, s in self.inputs)
        return f"{self.op_type}({shapes})"


@dataclass(frozen=True)
class LayerGroup:
    config: LayerConfig
    nodes: tuple[str, ...]  # node names, in graph order; the first is the one replayed

    @property
    def count(self) -> int:
        return len(self.nodes)


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnx

    return onnx.shape_inference.infer_shapes(model)


def _load(model: onnx.ModelProto | str | Path) -> onnx.ModelProto:
    import onnx

    return onnx.load(str(model)) if isinstance(model, str | Path) else model


def _node(graph: onnx.GraphProto, name: str) -> onnx.NodeProto:
    for node in graph.node:
        if node.name == name:
            return node
    raise KeyError(f"no node named {name!r} in the graph")


def layer_config(node: onnx.NodeProto, view: GraphView) -> LayerConfig:
    attrs = tuple(sorted((a.name, repr(plain_attribute(_attr_value(a)))) for a in node.attribute))
    inputs = tuple(
        ("w" if i in view.constants else "x", view.shapes.get(i)) for i in node.input if i
    )
    return LayerConfig(node.op_type, attrs, inputs)


def _attr_value(attr: onnx.AttributeProto) -> object:
    from onnx import helper

    return helper.get_attribute_value(attr)


def distinct_layers(model: onnx.ModelProto | str | Path) -> list[LayerGroup]:
    """Nodes grouped by configuration, in order of first appearance."""
    inferred = _inferred(_load(model))
    view = GraphView(inferred.graph)
    groups: dict[LayerConfig, list[str]] = {}
    for i, node in enumerate(inferred.graph.node):
        name = node.name or f"{node.op_type}_{i}"
        groups.setdefault(layer_config(node, view), []).append(name)
    return [LayerGroup(c, tuple(n)) for c, n in groups.items()]


def slice_node(model: onnx.ModelProto | str | Path, node_name: str) -> onnx.ModelProto:
    """A standalone model of one node: activation inputs in, outputs out, constants inside."""
    import onnx
    from onnx import helper

    source = _load(model)
    inferred = _inferred(source)
    graph = inferred.graph
    node = _node(graph, node_name)
    view = GraphView(graph)
    initializers = {t.name: t for t in graph.initializer}
    types = {v.name: v for v in [*graph.input, *graph.value_info, *graph.output]}
    inputs, inits = [], []
    for name in dict.fromkeys(i for i in node.input if i):
        if name in initializers:
            inits.append(initializers[name])
            continue
        info = types.get(name)
        if info is None or view.shapes.get(name) is None:
            raise ValueError(f"{node_name}: input {name!r} has no static shape")
        inputs.append(info)
    outputs = []
    for name in node.output:
        if not name:
            continue
        info = types.get(name)
        outputs.append(info if info is not None else helper.make_empty_tensor_value_info(name))
    sub = helper.make_graph([node], f"slice_{node_name}", inputs, outputs, inits)
    out = helper.make_model(sub, opset_imports=list(source.opset_import))
    out.ir_version = source.ir_version
    onnx.checker.check_model(out)
    return out


def activation_inputs(model: onnx.ModelProto) -> Sequence[tuple[str, Shape]]:
    """The graph inputs of a slice (name, static shape): what a replay must feed."""
    view = GraphView(model.graph)
    return [(i.name, view.shapes[i.name] or ()) for i in model.graph.input]
