"""The roofline of a result: achieved GFLOP/s against the machine's peaks.

A network is memory-bound when its arithmetic intensity (FLOPs per byte moved: weights plus
activations, from the cost model) lies left of the ridge point (peak GFLOP/s / peak GB/s), and
compute-bound otherwise. Peaks measured with another thread count are scaled linearly to the
run's threads, and the record says so.

An achieved figure above the peak is never a silent fraction over 1: the roofline carries a
``warning`` naming both figures and the likely causes (an engine doing fewer multiplications
than 2 x MACs, such as Winograd convolution; a peak measured with a slower GEMM or under load; a
peak scaled from another thread count or borrowed from fp32), for the record's warnings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnbench.results._json import Fields, JsonDict, drop_none

if TYPE_CHECKING:
    from cnnbench.results.record import ResultRecord

NONE = "none"
Peaks = Sequence[Mapping[str, Any]]  # rows of the store's peaks table


@dataclass(frozen=True)
class Roofline:
    """Where a run sits under the machine's roofline (``source == "none"``: it could not say)."""

    source: str
    reason: str | None = None
    achieved_gflops: float | None = None
    peak_gflops: float | None = None
    fraction_of_peak: float | None = None
    peak_bandwidth_gbs: float | None = None
    arithmetic_intensity: float | None = None  # FLOP per byte moved
    ridge_point: float | None = None  # FLOP per byte where the two roofs meet
    bound: str | None = None  # "compute" | "memory"
    attainable_gflops: float | None = None
    warning: str | None = None  # set when the achieved figure is above the peak

    def __post_init__(self) -> None:
        if self.source == NONE and not self.reason:
            raise ValueError("a roofline with source 'none' must say why")

    @classmethod
    def none(cls, reason: str) -> Roofline:
        return cls(source=NONE, reason=reason)

    def to_json(self) -> JsonDict:
        return drop_none(
            {
                "source": self.source,
                "reason": self.reason,
                "achieved_gflops": self.achieved_gflops,
                "peak_gflops": self.peak_gflops,
                "fraction_of_peak": self.fraction_of_peak,
                "peak_bandwidth_gbs": self.peak_bandwidth_gbs,
                "arithmetic_intensity": self.arithmetic_intensity,
                "ridge_point": self.ridge_point,
                "bound": self.bound,
                "attainable_gflops": self.attainable_gflops,
                "warning": self.warning,
            }
        )

    @classmethod
    def from_json(cls, d: object, where: str = "roofline") -> Roofline:
        f = Fields(d, where)
        source = f.string("source")
        bound = f.opt_string("bound")
        if bound not in (None, "compute", "memory"):
            raise f.fail("bound", "'compute' or 'memory'")
        return cls(
            source=source,
            reason=f.reason_for(source),
            achieved_gflops=f.opt_number("achieved_gflops"),
            peak_gflops=f.opt_number("peak_gflops"),
            fraction_of_peak=f.opt_number("fraction_of_peak"),
            peak_bandwidth_gbs=f.opt_number("peak_bandwidth_gbs"),
            arithmetic_intensity=f.opt_number("arithmetic_intensity"),
            ridge_point=f.opt_number("ridge_point"),
            bound=bound,
            attainable_gflops=f.opt_number("attainable_gflops"),
            warning=f.opt_string("warning"),
        )


def roofline(
    *,
    flops_per_image: float | None,
    bytes_per_image: float | None,
    images_per_s: float | None,
    precision: str,
    threads: int | None,
    peaks: Peaks,
) -> Roofline:
    if not peaks:
        return Roofline.none("no peaks measured on this machine (run `cnnbench info --peaks`)")
    if not flops_per_image or not images_per_s:
        return Roofline.none("no FLOP count or no throughput for this run")
    compute = {p["precision"]: p for p in peaks if p["kind"] == "compute"}
    memory = next((p for p in peaks if p["kind"] == "memory"), None)
    peak = compute.get(precision) or compute.get("fp32")
    if peak is None or memory is None:
        return Roofline.none("the peaks lack a compute or a memory figure")
    named = " threads" in peak["method"]  # new methods name their threads
    source = f"measured ({peak['method']}" + ("" if named else f", {peak['threads']} threads") + ")"
    peak_gflops = float(peak["value"])
    scaled = bool(threads and threads != peak["threads"])
    if threads and scaled:
        peak_gflops *= threads / peak["threads"]
        source = f"estimated: scaled from {peak['threads']} to {threads} threads ({peak['method']})"
    if peak["precision"] != precision:
        source += f"; no {precision} peak, fp32 peak used"
    achieved = flops_per_image * images_per_s / 1e9
    bandwidth = float(memory["value"])
    intensity = ridge = bound = attainable = None
    if bytes_per_image:
        intensity = flops_per_image / bytes_per_image
        ridge = peak_gflops / bandwidth
        bound = "compute" if intensity >= ridge else "memory"
        attainable = min(peak_gflops, intensity * bandwidth)
    return Roofline(
        source=source,
        achieved_gflops=achieved,
        peak_gflops=peak_gflops,
        fraction_of_peak=achieved / peak_gflops,
        peak_bandwidth_gbs=bandwidth,
        arithmetic_intensity=intensity,
        ridge_point=ridge,
        bound=bound,
        attainable_gflops=attainable,
        warning=above_peak_warning(achieved, peak_gflops, peak, precision, threads, scaled),
    )


def above_peak_warning(
    achieved: float,
    peak_gflops: float,
    peak: Mapping[str, Any],
    precision: str,
    threads: int | None,
    scaled: bool,
) -> str | None:
    """None when ``achieved`` is within the peak; else a warning with both figures and causes."""
    if achieved <= peak_gflops:
        return None
    causes = []
    if peak["precision"] != precision:
        causes.append(f"no {precision} peak was measured, the {peak['precision']} one is used")
    if scaled:
        causes.append(f"the peak was scaled linearly from {peak['threads']} to {threads} threads")
    causes += [
        "the engine does fewer multiplications than 2 x MACs (Winograd or FFT convolution)",
        "the peak was measured with a slower GEMM or under load "
        "(measure again with `cnnbench info --peaks`)",
    ]
    return (
        f"above peak: achieved {achieved:.1f} GFLOP/s is {achieved / peak_gflops:.0%} of the "
        f"{peak['precision']} peak {peak_gflops:.1f} {peak.get('unit', 'GFLOP/s')} "
        f"({peak['method']}); likely: " + "; or ".join(causes)
    )


def record_roofline(rec: ResultRecord, peaks: Peaks) -> Roofline:
    """The roofline of a measured record, from its cost section and its images/s.

    Bytes moved per image are the activations plus the weights shared by the batch (the best
    batch of a throughput sweep).
    """
    spec, cost = rec.spec, rec.cost
    if not cost.available:
        return Roofline.none(f"no cost for this run ({cost.reason})")
    if cost.lower_bound:
        return Roofline.none(
            f"the cost is a lower bound ({cost.uncounted_nodes or 0} node(s) uncounted, "
            f"shapes {cost.shapes or 'unknown'})"
        )
    batch = spec.batch
    if rec.throughput is not None and rec.throughput.best_batch is not None:
        batch = rec.throughput.best_batch
    moved = None
    if cost.weight_bytes is not None and cost.activation_bytes is not None:
        moved = cost.weight_bytes / batch + cost.activation_bytes
    return roofline(
        flops_per_image=cost.flops,
        bytes_per_image=moved,
        images_per_s=rec.throughput_ips,
        precision=rec.effective.precision or spec.target.precision,
        threads=rec.effective.threads or spec.target.threads,
        peaks=peaks,
    )
