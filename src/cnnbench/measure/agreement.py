"""Output agreement: does an engine compute what the torch fp32 reference computes?

The reference is the same module, in fp32 eager PyTorch on the CPU, on the same seeded input,
computed in the worker before the engine prepares (and possibly converts) anything. An engine
that is fast because it computes something else shows up here as a ``precision drift``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE = "torch fp32 eager (cpu)"

# Largest error relative to the largest reference magnitude that still counts as agreement.
TOLERANCE_REL = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 1e-2, "int8": 1.5e-1}


def compare(reference: np.ndarray, output: np.ndarray, precision: str) -> dict[str, Any]:
    """Max absolute and relative error, top-1 agreement over the batch, and the verdict."""
    tol = TOLERANCE_REL.get(precision, 1e-3)
    if reference.shape != output.shape:
        return {
            "reference": REFERENCE,
            "error": f"output shape {list(output.shape)} differs from reference "
            f"{list(reference.shape)}",
            "tolerance_rel": tol,
            "within_tolerance": False,
        }
    ref = reference.astype(np.float64)
    out = output.astype(np.float64)
    if not np.all(np.isfinite(out)):
        max_abs = float("inf")
    else:
        max_abs = float(np.max(np.abs(out - ref))) if ref.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    rows_ref = ref.reshape(ref.shape[0], -1) if ref.ndim > 1 else ref.reshape(1, -1)
    rows_out = out.reshape(rows_ref.shape)
    top1 = float(np.mean(rows_ref.argmax(axis=1) == rows_out.argmax(axis=1)))
    return {
        "reference": REFERENCE,
        "max_abs_err": max_abs,
        "max_rel_err": max_rel,
        "top1_agree": top1,
        "tolerance_rel": tol,
        "within_tolerance": bool(max_rel <= tol),
    }


def drift_warning(agreement: dict[str, Any] | None, precision: str) -> str | None:
    if not agreement or agreement.get("within_tolerance", True):
        return None
    if "error" in agreement:
        return f"precision drift: {agreement['error']}"
    return (
        f"precision drift: max relative error {agreement['max_rel_err']:.2e} exceeds the "
        f"{precision} tolerance {agreement['tolerance_rel']:.0e} "
        f"(top-1 agreement {agreement['top1_agree']:.0%})"
    )
