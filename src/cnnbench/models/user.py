"""User models: ONNX files, ``package.module:factory`` references, timm and torchvision names.

Reference forms (anything else is a registry name or a design pattern, see ``registry``):

* ``path/to/model.onnx``: family ``onnx``; the per-sample input shape is the graph's first
  input (initialisers excluded) without its batch dimension. A dynamic dimension (a
  ``dim_param`` or no value) needs ``--input-shape``. Such a model runs on the ONNX-based
  engines only; ``create_model`` raises ``Unsupported``. Its name is the absolute path.
* ``package.module:factory[?weights=PATH]``: family ``user``; the module is imported (the
  current directory is searched after ``sys.path``), the factory is called without arguments
  and must return a ``torch.nn.Module``. The input shape is the ``input_shape`` attribute of
  the factory, else of its module, else 3x224x224. With ``weights``, the file is read with
  ``torch.load(PATH, weights_only=True)`` (a state dict, or a dict holding one under
  ``state_dict``) and loaded with ``load_state_dict`` (strict). The canonical name writes the
  absolute weights path.
* ``timm:NAME`` and ``torchvision:NAME``: ``timm.create_model(NAME, pretrained=False)`` and
  ``torchvision.models.get_model(NAME, weights=None)`` where those packages are installed;
  input shape from the model's default configuration, else 3x224x224.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput, Unsupported
from cnnbench.models._registry import ModelInfo

if TYPE_CHECKING:
    from torch import nn

DEFAULT_SHAPE = (3, 224, 224)
HUBS = ("timm", "torchvision")
_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_FACTORY = re.compile(rf"({_DOTTED}):({_DOTTED})")


def check_shape(shape: Any, what: str) -> tuple[int, ...]:
    """A per-sample input shape as a tuple of positive ints, or BadInput naming ``what``."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise BadInput(f"{what}: the input shape must be positive integers, got {shape!r}")
    return dims


def _fmt(dims: Iterable[object]) -> str:
    return "x".join(str(d) for d in dims)


# ---------------------------------------------------------------------------------------------
# ONNX files


def is_onnx_ref(ref: str) -> bool:
    return ref.lower().endswith(".onnx")


def _onnx_factory(path: Path) -> Callable[..., nn.Module]:
    def factory(**_: Any) -> nn.Module:
        raise Unsupported(
            f"{path} is an ONNX file: it runs on ONNX-based engines (onnxruntime, openvino), "
            "not on torch"
        )

    return factory


def onnx_input(path: Path) -> tuple[str, list[int | str | None]]:
    """Name and dimensions (batch included) of the graph's first input; str/None when dynamic."""
    try:
        import onnx
    except ImportError:
        raise BadInput("reading an ONNX file needs the onnx package; pip install onnx") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise BadInput(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None
    initialisers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    if not inputs:
        raise BadInput(f"{path}: the graph has no input")
    first = inputs[0]
    if first.type.WhichOneof("value") != "tensor_type":
        raise BadInput(f"{path}: input {first.name!r} is not a tensor")
    tensor = first.type.tensor_type
    if not tensor.HasField("shape"):
        raise BadInput(
            f"{path}: input {first.name!r} has no shape; give the per-sample shape with "
            "--input-shape, e.g. 3x224x224"
        )
    dims: list[int | str | None] = []
    for d in tensor.shape.dim:
        kind = d.WhichOneof("value")
        if kind == "dim_value" and d.dim_value > 0:
            dims.append(int(d.dim_value))
        else:
            dims.append(d.dim_param if kind == "dim_param" and d.dim_param else None)
    return first.name, dims


def onnx_info(ref: str, input_shape: tuple[int, ...] | None = None) -> ModelInfo:
    path = Path(ref).expanduser()
    if not path.is_file():
        raise BadInput(f"no such ONNX file: {ref}")
    path = path.resolve()
    name, dims = onnx_input(path)
    if len(dims) < 2:
        raise BadInput(f"{path}: input {name!r} has shape [{_fmt(dims)}], not a batch of samples")
    sample = dims[1:]
    shown = _fmt("?" if d is None else d for d in dims)
    if input_shape is not None:
        shape = check_shape(input_shape, str(path))
        clash = len(shape) != len(sample) or any(
            isinstance(d, int) and d != s for d, s in zip(sample, shape, strict=False)
        )
        if clash:
            raise BadInput(
                f"{path}: --input-shape {_fmt(shape)} does not fit input {name!r} [{shown}]"
            )
    elif all(isinstance(d, int) for d in sample):
        shape = tuple(d for d in sample if isinstance(d, int))
    else:
        raise BadInput(
            f"{path}: input {name!r} [{shown}] has a dynamic dimension; give the per-sample "
            "shape with --input-shape, e.g. 3x224x224"
        )
    batch = dims[0]
    note = f", fixed batch {batch}" if isinstance(batch, int) and batch != 1 else ""
    return ModelInfo(
        name=str(path),
        family="onnx",
        input_shape=shape,
        dataset="unknown",
        factory=_onnx_factory(path),
        description=f"ONNX file, input {name!r} [{shown}]{note}",
        onnx_path=path,
    )


# ---------------------------------------------------------------------------------------------
# package.module:factory


@dataclass(frozen=True)
class FactoryRef:
    """``module:attribute`` with an optional weights file (absolute once parsed)."""

    module: str
    attribute: str
    weights: Path | None = None

    @property
    def name(self) -> str:
        base = f"{self.module}:{self.attribute}"
        return f"{base}?weights={self.weights}" if self.weights is not None else base

    @classmethod
    def parse(cls, ref: str) -> FactoryRef:
        target, sep, query = ref.partition("?")
        match = _FACTORY.fullmatch(target.strip())
        if not match:
            raise BadInput(f"not a factory reference: {ref!r} (expected package.module:factory)")
        weights = None
        if sep:
            key, eq, value = query.partition("=")
            if key.strip().lower() != "weights" or not eq or not value.strip():
                raise BadInput(f"{ref!r}: the only query a factory takes is ?weights=PATH")
            weights = Path(value.strip()).expanduser().resolve()
        return cls(match.group(1), match.group(2), weights)


def is_factory_ref(ref: str) -> bool:
    return _FACTORY.fullmatch(ref.partition("?")[0].strip()) is not None


def _import(module: str, ref: str) -> Any:
    saved = list(sys.path)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BadInput(f"{ref}: cannot import {module!r} ({exc})") from None
    except SyntaxError as exc:  # the file cannot even be compiled: nothing of it ran
        where = f"{Path(exc.filename or '').name}:{exc.lineno}" if exc.filename else "?"
        raise BadInput(
            f"{ref}: cannot import {module!r} (SyntaxError at {where}: {exc.msg})"
        ) from None
    finally:
        sys.path[:] = saved


def _resolve_factory(fref: FactoryRef) -> tuple[Any, Callable[..., Any]]:
    mod = _import(fref.module, fref.name)
    target: Any = mod
    for part in fref.attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise BadInput(f"{fref.name}: {fref.module!r} has no attribute {part!r}") from None
    if not callable(target):
        raise BadInput(f"{fref.name}: {fref.attribute!r} is not callable")
    return mod, target


def _load_weights(module: nn.Module, path: Path, ref: str) -> None:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BadInput(f"{ref}: cannot load weights {path} ({type(exc).__name__}: {exc})") from None
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise BadInput(f"{ref}: {path} does not hold a state dict")
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise BadInput(f"{ref}: the weights in {path} do not fit the model ({first})") from None


def factory_info(ref: str) -> ModelInfo:
    from torch import nn

    fref = FactoryRef.parse(ref)
    if fref.weights is not None and not fref.weights.is_file():
        raise BadInput(f"{ref}: no such weights file: {fref.weights}")
    mod, target = _resolve_factory(fref)
    declared = getattr(target, "input_shape", None) or getattr(mod, "input_shape", None)
    shape = check_shape(declared, f"{fref.name} input_shape") if declared else DEFAULT_SHAPE

    def factory(**kwargs: Any) -> nn.Module:
        module = target(**kwargs)
        if not isinstance(module, nn.Module):
            raise BadInput(f"{fref.name} returned {type(module).__name__}, not a torch.nn.Module")
        if fref.weights is not None:
            _load_weights(module, fref.weights, fref.name)
        return module

    doc = (getattr(target, "__doc__", None) or "").strip().splitlines()
    weights = f"; weights {fref.weights.name}" if fref.weights else ""
    return ModelInfo(
        name=fref.name,
        family="user",
        input_shape=shape,
        dataset="unknown",
        factory=factory,
        description=(doc[0] if doc else "user factory") + weights,
    )


# ---------------------------------------------------------------------------------------------
# timm:NAME and torchvision:NAME


def is_hub_ref(ref: str) -> bool:
    source, sep, _ = ref.partition(":")
    return bool(sep) and source.lower() in HUBS


def _import_hub(package: str) -> Any:
    try:
        return importlib.import_module(package)
    except ImportError:
        top = package.split(".")[0]
        raise BadInput(f"{top} is not installed; pip install {top}") from None


def _unknown(source: str, name: str, known: Sequence[str]) -> BadInput:
    close = difflib.get_close_matches(name, list(known), n=4, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return BadInput(f"{source} has no model {name!r}{hint}")


def _timm_shape(timm: Any, name: str) -> tuple[int, ...]:
    try:
        cfg = timm.models.get_pretrained_cfg(name)
        return check_shape(tuple(cfg.input_size), name)
    except Exception:
        return DEFAULT_SHAPE


def _torchvision_shape(models: Any, name: str) -> tuple[int, ...]:
    try:
        crop = models.get_model_weights(name).DEFAULT.transforms().crop_size
        size = int(crop[0] if isinstance(crop, Sequence) else crop)
        return (3, size, size)
    except Exception:
        return DEFAULT_SHAPE


def hub_info(ref: str) -> ModelInfo:
    source, _, name = ref.partition(":")
    source, name = source.lower(), name.strip()
    if not name:
        raise BadInput(f"{ref!r}: expected {source}:MODEL_NAME")
    factory: Callable[..., nn.Module]
    if source == "timm":
        timm = _import_hub("timm")
        if not timm.is_model(name):
            raise _unknown("timm", name, timm.list_models())
        shape = _timm_shape(timm, name)

        def factory(**kwargs: Any) -> nn.Module:
            return timm.create_model(name, pretrained=False, **kwargs)

    else:
        models = _import_hub("torchvision.models")
        known = models.list_models()
        if name not in known:
            raise _unknown("torchvision", name, known)
        shape = _torchvision_shape(models, name)

        def factory(**kwargs: Any) -> nn.Module:
            return models.get_model(name, weights=None, **kwargs)

    return ModelInfo(
        name=f"{source}:{name}",
        family=source,
        input_shape=shape,
        dataset="imagenet",
        factory=factory,
        description=f"{source} {name}, random weights",
    )
