"""Model references resolved without running outside code in the parent.

The project's own networks (the zoo, the design patterns) resolve here. Every other reference
(``package.module:factory``, an ONNX file, ``timm:``/``torchvision:`` names) is resolved by a worker
(:func:`cnnbench.models.describe.describe`) with a timeout, because resolving it imports or
parses outside code. A reference that is wrong is bad input (exit 2, nothing measured); outside
code that raises, crashes or hangs while it loads is a fault of that model: its configurations
are still planned, fail the same way in their workers, and are recorded with their status while
the rest of the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnbench.errors import BadInput
from cnnbench.measure.isolation import run_worker
from cnnbench.models import get_model_info, is_builtin_ref
from cnnbench.models.user import DEFAULT_SHAPE

DESCRIBE_ENTRY = "cnnbench.models.describe:describe"
RESOLVE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ResolvedModel:
    """What planning needs of a model: its canonical name and per-sample input shape."""

    name: str
    input_shape: tuple[int, ...]
    failure: str | None = None  # its code failed while loading (measured, and recorded, anyway)


def resolve_model(
    ref: str, input_shape: tuple[int, ...] | None = None, *, timeout_s: float | None = None
) -> ResolvedModel:
    if not isinstance(ref, str) or not ref.strip():
        raise BadInput("a model name must be a non-empty string")
    if is_builtin_ref(ref):
        info = get_model_info(ref, input_shape)
        return ResolvedModel(info.name, info.input_shape)
    payload = {"ref": ref, "input_shape": list(input_shape) if input_shape else None}
    outcome = run_worker(DESCRIBE_ENTRY, payload, timeout_s=timeout_s or RESOLVE_TIMEOUT_S)
    result = outcome.result
    if outcome.status == "ok" and "bad_input" in result:
        raise BadInput(str(result["bad_input"]))
    if outcome.status == "ok":
        return ResolvedModel(str(result["name"]), tuple(int(d) for d in result["input_shape"]))
    failure = f"{outcome.status} while loading: {outcome.error or 'no error text'}"
    # Its code failed before it could say its shape: the default of outside models stands in.
    return ResolvedModel(ref.strip(), input_shape or DEFAULT_SHAPE, failure)


def resolve_models(
    refs: Sequence[str],
    input_shape: tuple[int, ...] | None = None,
    *,
    timeout_s: float | None = None,
) -> list[ResolvedModel]:
    """Each reference resolved in turn (every wrong one is refused before anything runs)."""
    return [resolve_model(ref, input_shape, timeout_s=timeout_s) for ref in refs]
