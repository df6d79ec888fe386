"""A built model handed downstream: to the export cache (graph/) and to an engine (engines/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelInstance:
    """A built model ready for an engine: name, the torch module, the full input shape."""

    name: str
    module: nn.Module | None  # None for a user's ONNX file (extras["onnx_path"])
    input_shape: tuple[int, ...]  # with the batch dimension
    extras: dict[str, Any] = field(default_factory=dict)
