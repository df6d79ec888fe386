"""The model registry: ``@register_model``, ``list_models``, ``create_model``.

A registered model is a factory of a ``torch.nn.Module`` with initialised weights (timing does not
need trained ones), its family, default per-sample input shape and dataset tag.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput

if TYPE_CHECKING:
    from torch import nn

Factory = Callable[..., "nn.Module"]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model before building it."""

    name: str
    family: str
    input_shape: tuple[int, ...]
    dataset: str
    factory: Factory
    description: str = ""


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(
    name: str,
    *,
    family: str,
    input_shape: tuple[int, ...] = (3, 224, 224),
    dataset: str = "imagenet",
) -> Callable[[Factory], Factory]:
    """Register a factory under ``name`` (lower case, unique)."""

    def decorate(factory: Factory) -> Factory:
        key = name.lower()
        if key in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = ModelInfo(
            key, family, input_shape, dataset, factory, doc[0] if doc else ""
        )
        return factory

    return decorate


def list_models(family: str | None = None) -> list[ModelInfo]:
    """Registered models, sorted by family then name; ``family`` filters."""
    _load_builtin()
    infos = sorted(_REGISTRY.values(), key=lambda i: (i.family, i.name))
    if family is None:
        return infos
    families = {i.family for i in infos}
    if family not in families:
        raise BadInput(f"unknown model family {family!r}{_suggest(family, families)}")
    return [i for i in infos if i.family == family]


def get_model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; a clear error with close matches when unknown."""
    _load_builtin()
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise BadInput(f"unknown model {name!r}{_suggest(name, _REGISTRY)}") from None


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the named model in evaluation mode."""
    module = get_model_info(name).factory(**kwargs)
    return module.eval()


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name.lower(), list(known), n=4, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(close)}?"
    return "; `cnnbench models` lists them"


def _load_builtin() -> None:
    # Importing the family modules registers their models.
    from cnnbench.models import zoo  # noqa: F401
