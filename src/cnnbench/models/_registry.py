"""The model registry: ``@register_model``, ``list_models``, ``create_model``.

A registered model is a factory of a ``torch.nn.Module`` with initialised weights (timing does not
need trained ones), its family, default per-sample input shape and dataset tag.

``get_model_info`` and ``create_model`` take a *model reference*, tried in this order:

1. a registry name (``resnet50``; case does not matter);
2. a design pattern, ``pattern/NAME?depth=D&width=W&input=S&classes=C`` (``patterns``), or a
   one-layer probe, ``layer/KIND?cin=C&cout=C&hw=S&...`` (``layers``, family ``layer``);
3. a path ending in ``.onnx`` (``user``; runs on ONNX-based engines only);
4. ``timm:NAME`` or ``torchvision:NAME`` (where those packages are installed);
5. ``package.module:factory[?weights=PATH]`` (``user``).

``ModelInfo.name`` is the canonical form of the reference: the name a run's identity hashes
and a worker resolves again. ``list_models`` lists the registered models and the six design
patterns at their default depth and width (family ``pattern``); other depths and widths, files
and factories are not enumerable and are named directly.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput, Unsupported

if TYPE_CHECKING:
    from torch import nn

    from cnnbench.models.layers import LayerConfig
    from cnnbench.models.patterns import PatternConfig

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
    onnx_path: Path | None = None


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
    """Registered models and the six design patterns at their defaults, sorted by family then
    name; ``family`` filters."""
    _load_builtin()
    infos = sorted([*_REGISTRY.values(), *_pattern_defaults()], key=lambda i: (i.family, i.name))
    if family is None:
        return infos
    families = {i.family for i in infos}
    if family not in families:
        raise BadInput(f"unknown model family {family!r}{_suggest(family, families)}")
    return [i for i in infos if i.family == family]


def get_model_info(ref: str, input_shape: tuple[int, ...] | None = None) -> ModelInfo:
    """What is known of the model ``ref`` names (see the module doc for the forms).

    ``input_shape`` (per sample, no batch) fills the dynamic dimensions of an ONNX file's input
    and replaces the default input shape of every other kind of reference. Unknown names give a
    clear error with close matches.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise BadInput("a model name must be a non-empty string")
    ref = ref.strip()
    _load_builtin()
    info = _REGISTRY.get(ref.lower()) or _resolve(ref, input_shape)
    if input_shape is not None and info.onnx_path is None:  # an ONNX file's was checked
        from cnnbench.models.user import check_shape

        info = replace(info, input_shape=check_shape(input_shape, info.name))
    return info


def is_builtin_ref(ref: str) -> bool:
    """Whether ``ref`` names the project's own code (a zoo network or a design pattern), which
    may be resolved in the parent; every other reference (a factory, an ONNX file, a hub name)
    runs or parses code from outside and is resolved in a worker."""
    from cnnbench.models import layers, patterns

    _load_builtin()
    ref = ref.strip().lower()
    return ref in _REGISTRY or ref.startswith((patterns.PREFIX, layers.PREFIX))


def create_model(ref: str, **kwargs: Any) -> nn.Module:
    """Build the model ``ref`` names in evaluation mode.

    An ONNX file has no torch module: ``Unsupported`` says which engines run it.
    """
    from cnnbench.models.user import is_onnx_ref

    if isinstance(ref, str) and is_onnx_ref(ref.strip()):
        raise Unsupported(
            f"{ref.strip()} is an ONNX file: it runs on ONNX-based engines "
            "(onnxruntime, openvino), not on torch"
        )
    module = get_model_info(ref).factory(**kwargs)
    return module.eval()


def _resolve(ref: str, input_shape: tuple[int, ...] | None) -> ModelInfo:
    from cnnbench.models import layers, patterns, user

    if ref.lower().startswith(patterns.PREFIX):
        return _pattern_info(patterns.PatternConfig.parse(ref))
    if ref.lower().startswith(layers.PREFIX):
        return _layer_info(layers.LayerConfig.parse(ref))
    if user.is_onnx_ref(ref):
        return user.onnx_info(ref, input_shape)
    if user.is_hub_ref(ref):
        return user.hub_info(ref)
    if user.is_factory_ref(ref):
        return user.factory_info(ref)
    if Path(ref).expanduser().is_file():
        raise BadInput(f"{ref!r} is a file but not an .onnx file; export the model to ONNX")
    known = [*_REGISTRY, *(f"{patterns.PREFIX}{p}" for p in patterns.PATTERNS)]
    raise BadInput(f"unknown model {ref!r}{_suggest(ref, known)}")


def _pattern_info(config: PatternConfig) -> ModelInfo:
    def factory(num_classes: int | None = None) -> nn.Module:
        if num_classes is not None:
            return replace(config, classes=num_classes).build()
        return config.build()

    return ModelInfo(
        config.name,
        "pattern",
        config.input_shape,
        "synthetic",
        factory,
        config.description,
    )


def _layer_info(config: LayerConfig) -> ModelInfo:
    def factory(num_classes: int | None = None) -> nn.Module:
        return config.build()  # a probe has no classifier: num_classes does not apply

    return ModelInfo(
        config.name, "layer", config.input_shape, "synthetic", factory, config.description
    )


def _pattern_defaults() -> list[ModelInfo]:
    from cnnbench.models.patterns import default_configs

    return [_pattern_info(c) for c in default_configs()]


def _suggest(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name.lower(), list(known), n=4, cutoff=0.5)
    if close:
        return f"; did you mean {', '.join(close)}?"
    return "; `cnnbench models` lists them"


def _load_builtin() -> None:
    # Importing the family modules registers their models.
    from cnnbench.models import zoo  # noqa: F401
