"""The timing contract: warm-up until the per-call time settles, then timed single calls.

Inputs are prepared before the loop; each sample is one synchronous ``call()`` bracketed by
``time.perf_counter_ns``. Measurement stops when the 95 % confidence interval of the median is
within ``target_rel_ci`` of the median, or the budget is spent, never below ``min_samples``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnbench.measure.stats import relative_half_width
from cnnbench.spec import Budget

SETTLE_REL = 0.05  # two consecutive warm-up windows whose medians agree within 5 % = settled
WINDOW_S = 0.05  # a warm-up window lasts about this long (at least 3 calls)
CHECK_GROWTH = 1.1  # the stopping rule is evaluated when n grows by 10 %


@dataclass(frozen=True)
class WarmupResult:
    calls: int
    seconds: float
    settled: bool


@dataclass(frozen=True)
class TimingResult:
    samples_ns: tuple[int, ...]
    warmup: WarmupResult
    stop_reason: str  # "ci" | "budget" | "max_samples"
    rel_half_width: float

    @property
    def samples_ms(self) -> list[float]:
        return [s / 1e6 for s in self.samples_ns]


def warm_up(call: Callable[[], object], max_seconds: float) -> WarmupResult:
    """Call until the median per-call time of two consecutive windows agrees within 5 %."""
    clock = time.perf_counter_ns
    start = clock()
    limit = start + int(max_seconds * 1e9)
    t0 = clock()
    call()  # the first call (allocation, kernel selection, lazy init) is never a sample
    first = clock() - t0
    calls = 1
    window = max(3, min(200, int(WINDOW_S * 1e9 / max(first, 1))))
    previous: float | None = None
    while True:
        times = np.empty(window, dtype=np.int64)
        for i in range(window):
            t0 = clock()
            call()
            times[i] = clock() - t0
        calls += window
        med = float(np.median(times))
        if previous is not None and abs(med - previous) <= SETTLE_REL * previous:
            return WarmupResult(calls, (clock() - start) / 1e9, True)
        previous = med
        if clock() >= limit:
            return WarmupResult(calls, (clock() - start) / 1e9, False)


def time_calls(call: Callable[[], object], budget: Budget) -> TimingResult:
    """Warm up, then take timed samples until the stopping rule or the budget ends."""
    warm = warm_up(call, budget.warmup_limit_s)
    clock = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    min_n = budget.min_samples
    max_n = budget.max_samples
    target = budget.target_rel_ci
    next_check = min_n
    rel = float("inf")
    deadline = clock() + int(budget.seconds * 1e9)
    reason = "budget"
    while True:
        t0 = clock()
        call()
        t1 = clock()
        append(t1 - t0)
        n = len(samples)
        if n >= next_check:
            rel = relative_half_width(np.sort(np.asarray(samples, dtype=np.int64)))
            if rel <= target:
                reason = "ci"
                break
            next_check = max(n + 1, int(n * CHECK_GROWTH))
        if n >= max_n:
            reason = "max_samples"
            break
        if t1 >= deadline and n >= min_n:
            reason = "budget"
            break
    if reason != "ci":
        rel = relative_half_width(np.sort(np.asarray(samples, dtype=np.int64)))
    return TimingResult(tuple(samples), warm, reason, rel)
