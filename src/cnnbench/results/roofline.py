"""The roofline of a result: achieved GFLOP/s against the machine's peaks.

A network is memory-bound when its arithmetic intensity (FLOPs per byte moved: weights plus
activations, from the cost model) lies left of the ridge point (peak GFLOP/s / peak GB/s), and
compute-bound otherwise. Peaks measured with another thread count are scaled linearly to the
run's threads, and the record says so.
"""

from __future__ import annotations

from typing import Any

from cnnbench.results.record import not_measured


def roofline(
    *,
    flops_per_image: float | None,
    bytes_per_image: float | None,
    images_per_s: float | None,
    precision: str,
    threads: int | None,
    peaks: list[dict[str, Any]],
) -> dict[str, Any]:
    if not peaks:
        return not_measured("no peaks measured on this machine (run `cnnbench info --peaks`)")
    if not flops_per_image or not images_per_s:
        return not_measured("no FLOP count or no throughput for this run")
    compute = {p["precision"]: p for p in peaks if p["kind"] == "compute"}
    memory = next((p for p in peaks if p["kind"] == "memory"), None)
    peak = compute.get(precision) or compute.get("fp32")
    if peak is None or memory is None:
        return not_measured("the peaks lack a compute or a memory figure")
    source = f"measured ({peak['method']}, {peak['threads']} threads)"
    peak_gflops = float(peak["value"])
    if threads and threads != peak["threads"]:
        peak_gflops *= threads / peak["threads"]
        source = f"estimated: scaled from {peak['threads']} to {threads} threads ({peak['method']})"
    if peak["precision"] != precision:
        source += f"; no {precision} peak, fp32 peak used"
    achieved = flops_per_image * images_per_s / 1e9
    out: dict[str, Any] = {
        "source": source,
        "achieved_gflops": achieved,
        "peak_gflops": peak_gflops,
        "fraction_of_peak": achieved / peak_gflops,
        "peak_bandwidth_gbs": float(memory["value"]),
    }
    if bytes_per_image:
        intensity = flops_per_image / bytes_per_image
        ridge = peak_gflops / float(memory["value"])
        out.update(
            arithmetic_intensity=intensity,
            ridge_point=ridge,
            bound="compute" if intensity >= ridge else "memory",
            attainable_gflops=min(peak_gflops, intensity * float(memory["value"])),
        )
    return out
