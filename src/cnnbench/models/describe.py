"""The worker entry that resolves a model reference from outside the project.

A factory reference imports the user's module (its top-level code runs), an ONNX file is parsed,
a hub name imports timm or torchvision: none of that may run in the parent, so the parent asks a
worker (:mod:`cnnbench.execute.resolve`). A reference that is simply wrong (no such module or
file, no such attribute) comes back as ``bad_input`` with the message; code that raises, crashes
or hangs while it loads ends the worker with that status instead.
"""

from __future__ import annotations

from typing import Any

from cnnbench.errors import BadInput
from cnnbench.models._registry import get_model_info


def os_error_message(ref: str, exc: OSError) -> str:
    """One line for a model reference the file system refused."""
    shown = ref if len(ref) <= 80 else f"{ref[:77]}..."
    return f"model {shown!r}: {exc.strerror or exc}"


def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"ref": str, "input_shape": [int, ...] | None}`` -> what the parent needs to plan."""
    shape = payload.get("input_shape")
    try:
        info = get_model_info(str(payload["ref"]), tuple(shape) if shape else None)
    except BadInput as exc:
        return {"bad_input": str(exc)}
    except OSError as exc:  # a path the file system refuses (too long, a loop, no access)
        return {"bad_input": os_error_message(str(payload["ref"]), exc)}
    return {
        "name": info.name,
        "family": info.family,
        "input_shape": list(info.input_shape),
        "dataset": info.dataset,
        "description": info.description,
        "onnx_path": str(info.onnx_path) if info.onnx_path is not None else None,
    }
