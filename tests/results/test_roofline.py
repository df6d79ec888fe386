"""Roofline arithmetic: bound, fraction of peak, thread scaling, explicit absences."""

from __future__ import annotations

import pytest

from cnnbench.results.roofline import roofline
from records import PEAKS


def test_compute_bound_network() -> None:
    # 8 GFLOP per image at 5 images/s = 40 GFLOP/s; intensity 8e9 / 1e8 B = 80 > ridge 5.
    r = roofline(
        flops_per_image=8e9,
        bytes_per_image=1e8,
        images_per_s=5,
        precision="fp32",
        threads=2,
        peaks=PEAKS,
    )
    assert r.achieved_gflops == pytest.approx(40)
    assert r.fraction_of_peak == pytest.approx(0.4)
    assert r.ridge_point == pytest.approx(5)
    assert r.bound == "compute" and r.attainable_gflops == 100
    assert r.source.startswith("measured")


def test_memory_bound_network_and_thread_scaling() -> None:
    r = roofline(
        flops_per_image=1e6,
        bytes_per_image=1e6,
        images_per_s=1000,
        precision="fp32",
        threads=1,
        peaks=PEAKS,
    )
    assert r.bound == "memory"
    assert r.peak_gflops == pytest.approx(50)  # scaled 2 -> 1 thread, and it says so
    assert r.source.startswith("estimated")
    assert r.attainable_gflops == pytest.approx(20)  # intensity 1 x 20 GB/s


def test_missing_peaks_or_precision_is_explicit() -> None:
    none = roofline(
        flops_per_image=1e9,
        bytes_per_image=1e8,
        images_per_s=1,
        precision="fp32",
        threads=2,
        peaks=[],
    )
    assert none.source == "none" and "info --peaks" in (none.reason or "")
    bf16 = roofline(
        flops_per_image=1e9,
        bytes_per_image=1e8,
        images_per_s=1,
        precision="bf16",
        threads=2,
        peaks=PEAKS,
    )
    assert "no bf16 peak" in bf16.source


def test_a_partial_cost_gives_no_roofline_and_no_gflops() -> None:
    from dataclasses import replace

    from cnnbench.report.tables import gflops_per_s
    from cnnbench.results.roofline import record_roofline
    from cnnbench.results.sections import Cost
    from records import make_record

    rec = make_record()
    assert gflops_per_s(rec) is not None and record_roofline(rec, PEAKS).source != "none"
    partial = Cost(
        "test", per="image", macs=1000, flops=2000, complete=False, uncounted_nodes=39,
        shapes="partial",
    )  # fmt: skip
    rec = replace(rec, cost=partial)
    assert gflops_per_s(rec) is None
    line = record_roofline(rec, PEAKS)
    assert line.source == "none" and "lower bound (39 node(s) uncounted" in (line.reason or "")
    assert Cost.from_json(partial.to_json()) == partial  # the flag survives export and import


def test_above_peak_is_flagged_with_both_figures_and_causes() -> None:
    from cnnbench.results.roofline import Roofline

    # 3.64 GFLOP per image at 115 images/s = 418.6 GFLOP/s against a 100 GFLOP/s peak
    r = roofline(
        flops_per_image=3.64e9,
        bytes_per_image=1e8,
        images_per_s=115,
        precision="fp32",
        threads=2,
        peaks=PEAKS,
    )
    assert r.fraction_of_peak == pytest.approx(4.186)
    assert r.warning is not None and r.warning.startswith("above peak: achieved 418.6 GFLOP/s")
    assert "419% of the fp32 peak 100.0 GFLOP/s (torch.mm 2048x2048)" in r.warning
    assert "Winograd" in r.warning and "slower GEMM" in r.warning
    assert Roofline.from_json(r.to_json()) == r  # the flag survives export and import
    within = roofline(
        flops_per_image=1e9,
        bytes_per_image=1e8,
        images_per_s=100,
        precision="fp32",
        threads=2,
        peaks=PEAKS,
    )
    assert within.fraction_of_peak == pytest.approx(1.0) and within.warning is None
    assert "warning" not in within.to_json()


def test_above_peak_names_a_borrowed_or_scaled_peak() -> None:
    common = {"flops_per_image": 1e9, "bytes_per_image": 1e8, "images_per_s": 200, "peaks": PEAKS}
    bf16 = roofline(precision="bf16", threads=2, **common)
    assert bf16.warning and "no bf16 peak was measured, the fp32 one is used" in bf16.warning
    one = roofline(precision="fp32", threads=1, **common)
    assert one.warning and "scaled linearly from 2 to 1 threads" in one.warning
    assert "of the fp32 peak 50.0 GFLOP/s" in one.warning
