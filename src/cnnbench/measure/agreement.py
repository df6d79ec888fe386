"""Output agreement: does an engine compute what the torch fp32 reference computes?

The reference is the same module, in fp32 eager PyTorch on the CPU, on the same seeded input,
computed in the worker before the engine prepares (and possibly converts) anything. An engine
that is fast because it computes something else shows up here as a ``precision drift``.
"""

from __future__ import annotations

import numpy as np

from cnnbench.results.sections import Agreement

REFERENCE = "torch fp32 eager (cpu)"

# Largest error relative to the largest reference magnitude that still counts as agreement.
TOLERANCE_REL = {"fp32": 1e-3, "bf16": 5e-2, "fp16": 1e-2, "int8": 1.5e-1}


def compare(reference: np.ndarray, output: np.ndarray, precision: str) -> Agreement:
    """Max absolute and relative error, top-1 agreement over the batch, and the verdict."""
    tol = TOLERANCE_REL.get(precision, 1e-3)
    if reference.shape != output.shape:
        error = f"output shape {list(output.shape)} differs from reference {list(reference.shape)}"
        return Agreement(REFERENCE, tol, within_tolerance=False, error=error)
    ref = reference.astype(np.float64)
    out = output.astype(np.float64)
    if not np.all(np.isfinite(out)):
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        error = f"the output holds {bad} NaN or infinite value(s)"
        return Agreement(REFERENCE, tol, within_tolerance=False, error=error)
    max_abs = float(np.max(np.abs(out - ref))) if ref.size else 0.0
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    if scale > 0:
        max_rel = max_abs / scale
    elif max_abs == 0:
        max_rel = 0.0
    else:
        error = "the reference output is all zeros but the engine's is not"
        return Agreement(REFERENCE, tol, False, max_abs_err=max_abs, error=error)
    rows_ref = ref.reshape(ref.shape[0], -1) if ref.ndim > 1 else ref.reshape(1, -1)
    rows_out = out.reshape(rows_ref.shape)
    top1 = float(np.mean(rows_ref.argmax(axis=1) == rows_out.argmax(axis=1)))
    return Agreement(
        reference=REFERENCE,
        tolerance_rel=tol,
        within_tolerance=bool(max_rel <= tol),
        max_abs_err=max_abs,
        max_rel_err=max_rel,
        top1_agree=top1,
    )


def drift_warning(agreement: Agreement | None, precision: str) -> str | None:
    if agreement is None or agreement.within_tolerance:
        return None
    if agreement.error is not None or agreement.max_rel_err is None:
        return f"precision drift: {agreement.error}"
    top1 = (
        f" (top-1 agreement {agreement.top1_agree:.0%})" if agreement.top1_agree is not None else ""
    )
    return (
        f"precision drift: max relative error {agreement.max_rel_err:.2e} exceeds the "
        f"{precision} tolerance {agreement.tolerance_rel:.0e}{top1}"
    )
