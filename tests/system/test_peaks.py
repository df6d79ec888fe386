"""The peak measurement entry (run in this process on tiny sizes)."""

from __future__ import annotations

from cnnbench.system.peaks import measure_peaks


def test_peak_entry_measures_positive_figures() -> None:
    result = measure_peaks({"matmul_n": 256, "copy_bytes": 8 * 2**20})
    kinds = {(p["kind"], p["precision"]) for p in result["peaks"]}
    assert kinds == {("compute", "fp32"), ("compute", "bf16"), ("memory", "-")}
    assert all(p["value"] > 0 for p in result["peaks"])
