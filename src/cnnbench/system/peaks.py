"""Attainable peaks of this machine, for the roofline: matrix-product GFLOP/s and copy GB/s.

Measured in a worker (threads at the engine default unless given), once per machine and
precision, and cached in the store beside the machine fingerprint. A peak is the best of several
timed repetitions: the roofline's ceiling is what the machine *can* reach, not its typical speed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

MATMUL_N = 2048  # 2 x 2048^3 = 17.2 GFLOP per product
COPY_BYTES = 512 * 2**20  # 512 MiB source, well beyond any last-level cache
REPEATS = 7
MIN_PRODUCT_S = 0.05


@dataclass(frozen=True)
class Peak:
    kind: str  # "compute" | "memory"
    precision: str  # "fp32" | "bf16" | "-" for memory
    value: float  # GFLOP/s or GB/s
    unit: str
    threads: int
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _best_seconds(fn: Any, repeats: int) -> float:
    fn()  # warm-up (allocation, kernel selection)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _matmul_candidates(
    torch: Any, dtype: Any, max_n: int, precision: str
) -> list[tuple[str, int, float]]:
    """(library, size, best seconds) of square products: torch.mm (MKL/oneDNN) at growing sizes
    and, for fp32, NumPy's BLAS; BLAS libraries differ by CPU vendor, the peak is the best."""
    import numpy as np

    out: list[tuple[str, int, float]] = []
    size = 256
    while True:
        # Grow until one product takes >= 50 ms, so a slow (emulated) precision costs seconds.
        a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
        c = torch.empty(size, size, dtype=dtype)
        seconds = _best_seconds(lambda a=a, b=b, c=c: torch.mm(a, b, out=c), 1)
        if seconds >= MIN_PRODUCT_S or size >= max_n:
            break
        size *= 2
    sizes = [size] if size < max_n else [max_n, max_n * 3 // 2]
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        c = torch.empty(n, n, dtype=dtype)
        out.append(
            ("torch.mm", n, _best_seconds(lambda a=a, b=b, c=c: torch.mm(a, b, out=c), REPEATS))
        )
        if precision == "fp32":
            x = np.random.default_rng(0).random((n, n), dtype=np.float32)
            y = np.empty_like(x)
            seconds = _best_seconds(lambda x=x, y=y: np.matmul(x, x, out=y), REPEATS)
            out.append(("numpy.matmul", n, seconds))
    return out


def measure_peaks(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: fp32 (and bf16 where it runs faster than emulation would) matmul peaks,
    and the bandwidth of a large copy (bytes read + bytes written)."""
    import torch

    threads = torch.get_num_threads()
    n = int(payload.get("matmul_n", MATMUL_N))
    peaks: list[dict[str, Any]] = []
    notes: list[str] = []
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        best_gflops, best_method = 0.0, ""
        for library, size, seconds in _matmul_candidates(torch, dtype, n, precision):
            gflops = 2 * size**3 / seconds / 1e9
            if gflops > best_gflops:
                best_gflops, best_method = gflops, f"{library} {size}x{size}"
        peaks.append(
            Peak("compute", precision, best_gflops, "GFLOP/s", threads, best_method).to_dict()
        )
    fp32, bf16 = peaks[0]["value"], peaks[1]["value"]
    if bf16 < fp32:
        notes.append(
            f"bf16 matmul ({bf16:.0f} GFLOP/s) is slower than fp32 ({fp32:.0f}): "
            "no native bf16 dot-product instructions are used on this CPU"
        )
    size = int(payload.get("copy_bytes", COPY_BYTES)) // 4
    src = torch.ones(size, dtype=torch.float32)
    dst = torch.empty_like(src)
    seconds = _best_seconds(lambda: dst.copy_(src), REPEATS)
    bandwidth = 2 * size * 4 / seconds / 1e9
    peaks.append(
        Peak("memory", "-", bandwidth, "GB/s", threads, f"copy of {size * 4 >> 20} MiB").to_dict()
    )
    return {"peaks": peaks, "notes": notes}
