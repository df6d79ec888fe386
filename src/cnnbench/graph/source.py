"""Helpers for engines that load ONNX files: where a model's file comes from, derived files.

:func:`source_onnx` gives the fp32 ONNX file of a :class:`~cnnbench.engines.base.ModelInstance`:
the user's own file when ``extras["onnx_path"]`` is set, else the cached export of the very
module the worker built (:func:`cnnbench.graph.export.cached_export`), whose cache key holds a
digest of the module's weights: a module whose weights differ from an earlier export of the same
name (another seed, fine-tuned weights) gets its own file instead of a stale one.

:func:`derived_path` names a file made from another one (a quantised or fp16 copy) by a content
hash of the source file's bytes and the settings that made it;
:func:`cnnbench._fs.atomic_path` lets a tool write such a file under a temporary name that is
renamed into place only when it is complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput

if TYPE_CHECKING:
    from cnnbench.models.instance import ModelInstance

ONNX_PATH_KEY = "onnx_path"  # ModelInstance.extras key of a user's own .onnx file
FOLD_BN_KEY = "fold_bn"  # ModelInstance.extras key: False asks for the unfolded export


@dataclass(frozen=True)
class OnnxSource:
    """The fp32 ONNX file a session starts from, and where it came from."""

    path: Path
    origin: str  # "export" (cnnbench exported the module) or "file" (the user's file)
    weights_digest: str | None = None  # of the exported module's state dict

    def describe(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "path": str(self.path),
            "weights_digest": self.weights_digest,
        }


def source_onnx(
    model: ModelInstance, *, opset: int | None = None, fold_bn: bool | None = None
) -> OnnxSource:
    """The fp32 ONNX file of ``model`` (a user's file, or the cached export of its module).

    ``fold_bn`` (default: the instance's ``extras["fold_bn"]``, else True) picks the export with
    BatchNorm folded into the preceding Conv or kept; a user's file is used as it is."""
    user = model.extras.get(ONNX_PATH_KEY)
    if user is not None:
        path = Path(user).expanduser()
        if not path.is_file():
            raise BadInput(f"ONNX file {path} does not exist")
        return OnnxSource(path.resolve(), "file")
    module = model.module
    if module is None:
        raise BadInput(f"model {model.name!r} has neither a torch module nor an ONNX file")
    from cnnbench.graph.export import DEFAULT_OPSET, cached_export

    if fold_bn is None:
        fold_bn = bool(model.extras.get(FOLD_BN_KEY, True))
    path, digest = cached_export(
        module,
        model.name,
        tuple(model.input_shape),
        opset=opset if opset is not None else DEFAULT_OPSET,
        fold_bn=fold_bn,
    )
    return OnnxSource(path, "export", digest)


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def derived_path(source: Path, tag: str, settings: Mapping[str, Any]) -> Path:
    """Where a file made from ``source`` with ``settings`` is cached (next to the exports).

    The name ends with a hash of the source file's bytes and the settings, so a changed source
    or changed settings never reuse an old file.
    """
    from cnnbench.graph.export import cache_dir

    blob = json.dumps(
        {"source": file_digest(source), "tag": tag, "settings": dict(settings)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode()
    key = hashlib.sha256(blob).hexdigest()[:16]
    return cache_dir() / f"{source.stem}.{tag}-{key}.onnx"


def graph_io(path: Path) -> tuple[list[str], list[str]]:
    """The names of the real graph inputs (initializers excluded) and of the outputs."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    return inputs, [o.name for o in model.graph.output]


def check_input_shape(
    array_shape: tuple[int, ...], declared: list[Any], what: str = "the model"
) -> None:
    """Raise :class:`BadInput` when a concrete input shape does not fit a declared one
    (symbolic or unknown dimensions fit anything)."""
    if len(array_shape) != len(declared) or any(
        isinstance(d, int) and d > 0 and d != a for a, d in zip(array_shape, declared, strict=True)
    ):
        raise BadInput(
            f"input of shape {list(array_shape)} does not fit {what}'s input {list(declared)}"
        )
