"""Output agreement with the torch fp32 reference, and its warnings."""

from __future__ import annotations

import numpy as np

from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.sweep import (
    measure_latency_group,
)
from cnnbench.measure.agreement import compare, drift_warning
from records import quick_spec, this_machine


def test_torch_fp32_agrees_with_its_reference_and_bf16_drifts_within_tolerance() -> None:
    fp32, bf16 = measure_latency_group(
        [quick_spec(threads=1), quick_spec(threads=1, precision="bf16")],
        this_machine(),
        LocalExecutor(),
    )
    assert fp32.agreement is not None and fp32.agreement.max_abs_err is not None
    assert fp32.agreement.max_abs_err < 1e-5
    assert fp32.agreement.top1_agree == 1.0
    assert bf16.status == "ok" and bf16.effective.precision == "bf16"
    assert bf16.agreement is not None
    assert bf16.agreement.max_rel_err is not None
    assert 0 < bf16.agreement.max_rel_err < bf16.agreement.tolerance_rel


def test_compare_on_known_arrays() -> None:
    ref = np.array([[1.0, 3.0, 2.0], [0.5, -4.0, 0.0]])
    out = ref + np.array([[0.0, 0.0, 0.04], [0.0, 0.0, 2.0]])  # row 2's argmax moves 0 -> 2
    a = compare(ref, out, "fp32")
    assert a.max_abs_err == 2.0
    assert a.max_rel_err == 0.5  # relative to max |ref| = 4
    assert a.top1_agree == 0.5
    assert not a.within_tolerance
    assert "precision drift" in (drift_warning(a, "fp32") or "")
    shape = compare(ref, ref[:1], "fp32")
    assert shape.within_tolerance is False and "shape" in (shape.error or "")
    nan = compare(ref, np.full_like(ref, np.nan), "fp32")
    assert nan.max_abs_err is None and "NaN" in (nan.error or "")  # strict JSON: no NaN
    assert "precision drift" in (drift_warning(nan, "fp32") or "")
