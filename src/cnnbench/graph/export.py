"""Export a torch module to ONNX once, cached on disk.

:func:`onnx_path` returns the ``.onnx`` file of a registered model at one full input shape
(batch included), exporting it on the first call. The file lives in ``$CNNBENCH_CACHE/onnx/``
(default ``~/.cache/cnnbench/onnx/``) under a name that ends with a content hash of the model
name, a digest of its weights, the input shape, the opset, the torch version and
:data:`EXPORT_FORMAT`: one file per (model, weights, input shape, opset), shared by the engines'
runs, the cost in records and ``cnnbench models --detail``. It is written to a
temporary file and moved into place with ``os.replace``, so two workers that export at once never
see half a file (both write the same bytes; the last rename wins).

Which exporter, and why
-----------------------
torch 2.13 has two: the TorchScript exporter (``torch.onnx.export(..., dynamo=False)``,
deprecated since 2.9 but present) and the ``torch.export``-based dynamo exporter (the default).
Both fold an eval-mode BatchNorm that follows a Conv into the Conv's weight and bias, and both
give byte-identical files run after run. cnnbench uses the **TorchScript exporter** because:

* it honours the requested opset: the dynamo exporter has no implementations below opset 18 and
  its down-conversion to 17 fails on ResNet/MobileNet (``ReduceMean`` axes), leaving opset 18
  with a traceback on stderr;
* it is 2-3x faster (ResNet-50: about 2.6 s against 6-8 s), which matters for sweeps and tests;
* its graph names pooling as CNN engines do (``GlobalAveragePool`` + ``Flatten`` rather than
  ``ReduceMean`` + ``Reshape``), fully shape-inferable with Conv/Relu/Clip/Add/Gemm nodes.

Its blemishes are fixed after export: it de-duplicates equal initializers (e.g. two folded
biases that are all zero) and feeds the copies through ``Identity`` nodes, and it emits scalars
such as Clip bounds as ``Constant`` nodes; :func:`export_module` gives each such consumer its own
initializer again (every Conv owns its weights) and turns the constants into initializers, so
every node left is a real layer. Should the
TorchScript exporter fail (or vanish in a later torch), the dynamo exporter is used instead, at
opset ``max(opset, 18)``; the file's metadata (``cnnbench.exporter``) says which one ran.

BatchNorm: a BatchNormalization right after a Conv is folded into it (no BatchNormalization node,
the Conv gains a bias); one that follows anything else stays a BatchNormalization node. An
unfolded export (``fold_bn=False``, the engines' option ``fold_bn=0``) keeps every BatchNorm as a
BatchNormalization node, so an engine's own handling of it (fusing it or running it) shows in its
profile, as in seed 000's time breakdown; it has its own cache key and file name (``_bn``).
Weights are embedded (one self-contained file); models of 2 GB or more are refused.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cnnbench._fs import atomic_write
from cnnbench.errors import BadInput, CnnbenchError

if TYPE_CHECKING:
    import onnx
    from torch import nn

Exporter = Literal["auto", "torchscript", "dynamo"]

EXPORT_FORMAT = "cnnbench.onnx/1"  # bump when the export or its post-processing changes
INPUT_NAME = "input"
OUTPUT_NAME = "output"
DEFAULT_OPSET = 17
SEED = 0  # weights of a freshly built model are drawn from this seed: deterministic files
_PROTOBUF_LIMIT_BYTES = 2**31 - 1


def cache_dir() -> Path:
    """The ONNX cache folder: ``$CNNBENCH_CACHE/onnx`` or ``~/.cache/cnnbench/onnx``."""
    root = os.environ.get("CNNBENCH_CACHE") or str(Path.home() / ".cache" / "cnnbench")
    return Path(root).expanduser() / "onnx"


def cache_key(
    model_name: str,
    weights: str,
    full_input_shape: tuple[int, ...],
    opset: int,
    fold_bn: bool = True,
) -> str:
    """The hex content hash that names a cached export: model, weights digest, shape, opset
    (and the torch version and export format, which change the bytes). An unfolded export
    (``fold_bn=False``) has a key of its own; folded exports keep the key they always had."""
    import torch

    fields: dict[str, object] = {
        "model": model_name.lower(),
        "weights": weights,
        "input_shape": [int(d) for d in full_input_shape],
        "opset": int(opset),
        "torch": torch.__version__,
        "format": EXPORT_FORMAT,
    }
    if not fold_bn:
        fields["fold_bn"] = False
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def onnx_path(
    model_name: str,
    full_input_shape: tuple[int, ...],
    *,
    opset: int = DEFAULT_OPSET,
    build: Callable[[], nn.Module] | None = None,
    fold_bn: bool = True,
) -> Path:
    """The cached ONNX file of ``model_name`` at ``full_input_shape`` (batch first).

    ``build`` makes the module (default: the registry's ``create_model(model_name)``); it is
    called under the fixed seed every worker uses, so the weights, and the file, are the ones
    the engines run. Exports on a cache miss only (see :func:`cached_export`).
    """
    shape = _check_shape(full_input_shape)
    _check_opset(opset)
    if build is None:
        from cnnbench.models import create_model

        build = functools.partial(create_model, model_name)
    with _seeded():
        module = build()
    return cached_export(module, model_name, shape, opset=opset, fold_bn=fold_bn)[0]


def cached_export(
    module: nn.Module,
    model_name: str,
    full_input_shape: tuple[int, ...],
    *,
    opset: int,
    fold_bn: bool = True,
) -> tuple[Path, str]:
    """The cached export of this very ``module`` and its weights digest; one cache key per
    (model, weights, input shape, opset, BatchNorm folding), whoever asks (a run, a listing,
    ``--detail``)."""
    shape = _check_shape(full_input_shape)
    _check_opset(opset)
    digest = weights_digest(module)
    path = cache_dir() / _file_name(model_name, digest, shape, opset, fold_bn)
    if not path.is_file():
        export_module(module, shape, path, opset, model_name=model_name, fold_bn=fold_bn)
    return path, digest


def weights_digest(module: nn.Module) -> str:
    """A short BLAKE2b digest of every parameter and buffer (names, dtypes, shapes, bytes)."""
    h = hashlib.blake2b(digest_size=8)
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():
            # A byte view of the tensor's storage (no copy; works for every dtype).
            h.update(t.reshape(-1).view(dtype=_torch_uint8()).numpy().data)
    return h.hexdigest()


def _torch_uint8() -> Any:
    import torch

    return torch.uint8


def export_module(
    module: nn.Module,
    full_input_shape: tuple[int, ...],
    path: Path,
    opset: int = DEFAULT_OPSET,
    *,
    exporter: Exporter = "auto",
    model_name: str = "",
    fold_bn: bool = True,
) -> Path:
    """Export ``module`` (in eval mode) to ``path`` with a static ``full_input_shape``.

    The graph has one input ``input`` (float32) and one output ``output``; weights are embedded.
    The file appears atomically. ``exporter`` picks the TorchScript or dynamo exporter; "auto"
    tries TorchScript and falls back to dynamo (see the module docstring). ``fold_bn=False``
    keeps every BatchNorm a BatchNormalization node (TorchScript exporter only: the dynamo
    exporter's optimiser may fold it, so it is not a fallback for an unfolded export).
    """
    shape = _check_shape(full_input_shape)
    _check_opset(opset)
    was_training = module.training
    module.eval()
    try:
        model = _export(module, shape, opset, exporter, fold_bn)
    finally:
        module.train(was_training)
    _undo_initializer_dedup(model)
    _constants_to_initializers(model)
    meta = {"cnnbench.model": model_name, "cnnbench.input_shape": "x".join(map(str, shape))}
    for key, value in meta.items():
        if value:
            model.metadata_props.add(key=key, value=value)
    if model.ByteSize() >= _PROTOBUF_LIMIT_BYTES:
        raise BadInput(
            f"{model_name or type(module).__name__} is 2 GB or more as ONNX; cnnbench keeps "
            "exports in one file and cannot export it"
        )
    atomic_write(Path(path), model.SerializeToString())
    return Path(path)


def _export(
    module: nn.Module, shape: tuple[int, ...], opset: int, exporter: Exporter, fold_bn: bool
) -> onnx.ModelProto:
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise BadInput(f"unknown ONNX exporter {exporter!r}; use auto, torchscript or dynamo")
    if not fold_bn and exporter == "dynamo":
        raise BadInput("an unfolded export (fold_bn=0) needs the TorchScript exporter")
    errors: list[str] = []
    if exporter in ("auto", "torchscript"):
        try:
            return _export_torchscript(module, shape, opset, fold_bn)
        except Exception as exc:  # the exporter raises many kinds; report them all
            if exporter == "torchscript" or not fold_bn:
                raise CnnbenchError(f"TorchScript ONNX export failed: {exc}") from exc
            errors.append(f"TorchScript exporter: {exc}")
    try:
        return _export_dynamo(module, shape, opset)
    except Exception as exc:
        errors.append(f"dynamo exporter: {exc}")
        raise CnnbenchError("ONNX export failed; " + "; ".join(errors)) from exc


def _export_torchscript(
    module: nn.Module, shape: tuple[int, ...], opset: int, fold_bn: bool = True
) -> onnx.ModelProto:
    import onnx
    import torch

    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the DeprecationWarning of the TorchScript exporter
        torch.onnx.export(
            module,
            (torch.zeros(shape, dtype=torch.float32),),
            buffer,  # type: ignore[arg-type]  # the TorchScript exporter writes to file objects too
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            do_constant_folding=True,
            # EVAL runs the exporter's eval peephole, which folds Conv+BatchNorm; PRESERVE
            # (the module is in eval mode all the same) skips it and keeps BatchNormalization.
            training=torch.onnx.TrainingMode.EVAL if fold_bn else torch.onnx.TrainingMode.PRESERVE,
        )
    model = onnx.load_model_from_string(buffer.getvalue())
    model.metadata_props.add(key="cnnbench.exporter", value="torchscript")
    if not fold_bn:
        model.metadata_props.add(key="cnnbench.fold_bn", value="0")
    return model


def _export_dynamo(module: nn.Module, shape: tuple[int, ...], opset: int) -> onnx.ModelProto:
    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module,
            (torch.zeros(shape, dtype=torch.float32),),
            dynamo=True,
            opset_version=max(opset, 18),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            optimize=True,
            verbose=False,
        )
    if program is None:
        raise CnnbenchError("the dynamo exporter returned no program")
    model = program.model_proto
    model.metadata_props.add(key="cnnbench.exporter", value="dynamo")
    return model


def _undo_initializer_dedup(model: onnx.ModelProto) -> None:
    """Replace ``Identity(initializer)`` nodes by a copy of the initializer under their output."""
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    keep = []
    for node in graph.node:
        source = node.input[0] if node.op_type == "Identity" and node.input else ""
        if source in inits and node.output[0] not in outputs:
            copy = graph.initializer.add()
            copy.CopyFrom(inits[source])
            copy.name = node.output[0]
        else:
            keep.append(node)
    if len(keep) != len(graph.node):
        del graph.node[:]
        graph.node.extend(keep)
        used = {name for node in graph.node for name in node.input}
        kept = [t for t in graph.initializer if t.name in used or t.name in outputs]
        del graph.initializer[:]
        graph.initializer.extend(kept)


def _constants_to_initializers(model: onnx.ModelProto) -> None:
    """Turn ``Constant`` nodes holding a tensor (e.g. Clip bounds) into initializers."""
    graph = model.graph
    keep = []
    for node in graph.node:
        attr = node.attribute[0] if node.op_type == "Constant" and node.attribute else None
        if attr is not None and attr.name == "value" and attr.HasField("t"):
            tensor = graph.initializer.add()
            tensor.CopyFrom(attr.t)
            tensor.name = node.output[0]
        else:
            keep.append(node)
    if len(keep) != len(graph.node):
        del graph.node[:]
        graph.node.extend(keep)


@contextlib.contextmanager
def _seeded() -> Iterator[None]:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        yield


def _file_name(
    model_name: str, weights: str, shape: tuple[int, ...], opset: int, fold_bn: bool = True
) -> str:
    safe = re.sub(r"[^a-z0-9_.-]+", "-", model_name.lower()).strip("-.") or "model"
    dims = "x".join(str(d) for d in shape)
    bn = "" if fold_bn else "_bn"
    key = cache_key(model_name, weights, shape, opset, fold_bn)
    return f"{safe}_{dims}_op{opset}{bn}_{key}.onnx"


def _check_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        dims = ()
    if len(dims) < 2 or min(dims) < 1 or dims != tuple(shape):
        raise BadInput(
            f"input shape {shape!r} must be positive integers with the batch first, "
            "e.g. (1, 3, 224, 224)"
        )
    return dims


def _check_opset(opset: int) -> None:
    if not isinstance(opset, int) or opset < 7:
        raise BadInput(f"ONNX opset {opset!r} is out of range; use 7 or newer (default 17)")
