"""Summary statistics of latency samples, the median's confidence interval and noise checks.

:func:`summarize` gives a :class:`~cnnbench.results.speed.LatencyStats` (the ``latency_ms``
section of a record).

The confidence interval of the median is distribution-free: it is bracketed by two order
statistics whose ranks come from the Binomial(n, 1/2) law of the number of samples below the
true median (exact up to n = 1000, normal approximation above).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cnnbench.results.speed import LatencyStats

Z95 = 1.959963984540054
EXACT_LIMIT = 1000

# Noise thresholds for the warnings attached to a record.
HIGH_CV = 0.10
DRIFT_REL = 0.05
LOW_MIN_REL = 0.70


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks (j, k) with P(X_(j) <= median <= X_(k)) >= confidence.

    For n too small to reach the confidence (n < 6 at 95 %) the widest interval (1, n) is given.
    """
    if n < 1:
        raise ValueError("no samples")
    alpha = 1.0 - confidence
    if n <= EXACT_LIMIT:
        # Largest j with P(B <= j - 1) <= alpha / 2, B ~ Binomial(n, 1/2); symmetric k = n - j + 1.
        log_norm = math.lgamma(n + 1) - n * math.log(2.0)
        cdf = 0.0
        j = 0
        while j < n:
            cdf += math.exp(log_norm - math.lgamma(j + 1) - math.lgamma(n - j + 1))
            if cdf > alpha / 2:
                break
            j += 1
        j = max(j, 1)
        return j, n - j + 1
    z = Z95 if abs(confidence - 0.95) < 1e-12 else _normal_quantile(1 - alpha / 2)
    half = z * math.sqrt(n) / 2
    j = max(1, math.floor(n / 2 - half))
    k = min(n, math.ceil(n / 2 + 1 + half))
    return j, k


def _normal_quantile(p: float) -> float:
    """Inverse standard normal CDF by bisection on erf (only for uncommon confidences)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def median_ci(
    sorted_samples: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> tuple[float, float]:
    """Distribution-free confidence interval of the median of already sorted samples."""
    j, k = median_ci_ranks(len(sorted_samples), confidence)
    return float(sorted_samples[j - 1]), float(sorted_samples[k - 1])


def relative_half_width(sorted_samples: Sequence[float] | np.ndarray) -> float:
    """Largest distance from the median to a CI bound, relative to the median."""
    n = len(sorted_samples)
    mid = n // 2
    med = (
        float(sorted_samples[mid])
        if n % 2
        else (float(sorted_samples[mid - 1]) + float(sorted_samples[mid])) / 2
    )
    lo, hi = median_ci(sorted_samples)
    if med <= 0:
        return math.inf
    return max(med - lo, hi - med) / med


def summarize(samples_ms: Sequence[float]) -> LatencyStats:
    """Summary statistics; quantiles use linear interpolation (NumPy's default method)."""
    if len(samples_ms) == 0:
        raise ValueError("no samples to summarise")
    a = np.sort(np.asarray(samples_ms, dtype=np.float64))
    n = int(a.size)
    mean = float(a.mean())
    std = float(a.std(ddof=1)) if n > 1 else 0.0
    p50, p90, p99 = (float(x) for x in np.percentile(a, [50, 90, 99]))
    lo, hi = median_ci(a)
    return LatencyStats(
        mean=mean,
        median=p50,
        p90=p90,
        p99=p99,
        min=float(a[0]),
        max=float(a[-1]),
        std=std,
        cv=std / mean if mean > 0 else math.inf,
        ci95=(lo, hi),
        n=n,
    )


def noise_warnings(samples_ms: Sequence[float]) -> list[str]:
    """Warnings about a noisy series: high CV, drift between thirds, a min far below the median."""
    out: list[str] = []
    n = len(samples_ms)
    if n < 3:
        return ["noise: fewer than 3 samples, statistics are unreliable"]
    a = np.asarray(samples_ms, dtype=np.float64)
    med = float(np.median(a))
    mean = float(a.mean())
    cv = float(a.std(ddof=1)) / mean if mean > 0 else math.inf
    if cv > HIGH_CV:
        out.append(f"noise: high coefficient of variation ({cv:.1%} > {HIGH_CV:.0%})")
    third = n // 3
    if third >= 5:
        first = float(np.median(a[:third]))
        last = float(np.median(a[-third:]))
        drift = (last - first) / first if first > 0 else math.inf
        if abs(drift) > DRIFT_REL:
            out.append(
                f"drift: median of the last third differs from the first third by {drift:+.1%}"
            )
    mn = float(a.min())
    if med > 0 and mn < LOW_MIN_REL * med:
        out.append(f"outlier: min is {mn / med:.0%} of the median (fast outliers or bimodal)")
    return out
