"""A read-only view of a shape-inferred ONNX graph: static shapes, element sizes, constants.

Shapes come from the graph's initializers, inputs, outputs and ``value_info`` (what ONNX shape
inference wrote, or what running the graph found: :mod:`cnnbench.graph._runshapes`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import onnx

Shape = tuple[int, ...]


class GraphView:
    """Shapes, element sizes and constants of a shape-inferred graph."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        import onnx
        from onnx import helper

        self.shapes: dict[str, Shape | None] = {}
        self.itemsize: dict[str, int] = {}
        self.constants: dict[str, Any] = {t.name: t for t in graph.initializer}
        self.alias: dict[str, str] = {}  # Identity(constant) output -> source constant
        self.non_tensors: set[str] = set()  # values typed as sequences, maps or optionals
        for t in graph.initializer:
            self.shapes[t.name] = tuple(int(d) for d in t.dims)
            self.itemsize[t.name] = _itemsize(t.data_type)
        for info in [*graph.input, *graph.value_info, *graph.output]:
            tensor = info.type.tensor_type
            if info.name in self.constants:
                continue
            if not info.type.HasField("tensor_type"):
                if info.type.WhichOneof("value") is not None:
                    self.non_tensors.add(info.name)
                continue
            dims = list(tensor.shape.dim) if tensor.HasField("shape") else []
            static = tensor.HasField("shape") and all(d.HasField("dim_value") for d in dims)
            self.shapes[info.name] = tuple(d.dim_value for d in dims) if static else None
            self.itemsize[info.name] = _itemsize(tensor.elem_type)
        self.node_outputs: tuple[str, ...] = tuple(o for n in graph.node for o in n.output if o)
        for node in graph.node:
            if node.op_type == "Constant" and node.output:
                value = next((helper.get_attribute_value(a) for a in node.attribute), None)
                self.constants[node.output[0]] = value
                if isinstance(value, onnx.TensorProto):
                    self.shapes[node.output[0]] = tuple(int(d) for d in value.dims)
                    self.itemsize[node.output[0]] = _itemsize(value.data_type)
            elif node.input and all(i in self.constants for i in node.input if i):
                for out in node.output:  # computed from constants only: still a constant
                    self.constants[out] = None
                if node.op_type == "Identity":
                    self.alias[node.output[0]] = self.source(node.input[0])

    def source(self, name: str) -> str:
        """The constant an ``Identity`` chain starts from (``name`` itself if none)."""
        return self.alias.get(name, name)

    def shape(self, name: str) -> Shape | None:
        return self.shapes.get(name) if name else None

    def unknown_shapes(self) -> tuple[str, ...]:
        """Node outputs that are tensors (or of unknown type) without a static shape."""
        return tuple(
            name
            for name in dict.fromkeys(self.node_outputs)
            if name not in self.non_tensors and self.shape(name) is None
        )

    def nbytes(self, name: str) -> int:
        shape = self.shape(name)
        return 0 if shape is None else math.prod(shape) * self.itemsize.get(name, 4)

    def value(self, name: str) -> Any:
        """The value of a small constant input as a NumPy array, else None."""
        from onnx import numpy_helper

        tensor = self.constants.get(name)
        shape = self.shape(name)
        if tensor is None or shape is None or math.prod(shape) > 64:
            return None
        return numpy_helper.to_array(tensor) if hasattr(tensor, "dims") else np.asarray(tensor)

    def is_float(self, name: str) -> bool:
        """Whether a constant holds floating-point data (weights), not integers (shapes, axes)."""
        data_type = getattr(self.constants.get(name), "data_type", None)
        return data_type is None or data_type in (1, 10, 11, 16)  # float, half, double, bf16


def _itemsize(elem_type: int) -> int:
    from onnx import helper

    try:
        return int(helper.tensor_dtype_to_np_dtype(elem_type).itemsize)
    except (KeyError, TypeError, ValueError):
        return 4


def plain_attribute(value: Any) -> Any:
    """Attribute values as plain Python: bytes to str, repeated fields to lists."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [plain_attribute(v) for v in value]
    return value
