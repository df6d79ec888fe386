"""The timing contract: warm-up until the per-call time settles, then timed single calls.

Inputs are prepared before the loop; each sample is one synchronous ``call()`` bracketed by two
readings of ``clock`` (``time.perf_counter_ns`` unless a test injects another: any callable
returning nanoseconds). Measurement stops when the 95 % confidence interval of the median is
within ``target_rel_ci`` of the median, or the budget is spent, never below ``min_samples``.
The stopping rule is evaluated when n reaches ``min_samples`` and then whenever n has grown by
:data:`CHECK_GROWTH`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from cnnbench.measure.stats import relative_half_width
from cnnbench.spec import Budget

Clock = Callable[[], int]  # nanoseconds

SETTLE_REL = 0.05  # two consecutive warm-up windows whose medians agree within 5 % = settled
WINDOW_S = 0.05  # a warm-up window lasts about this long (at least 3 calls)
MIN_WINDOW = 3
MAX_WINDOW = 200
CHECK_GROWTH = 1.1  # the stopping rule is evaluated when n grows by 10 %


@dataclass(frozen=True)
class WarmupResult:
    calls: int
    seconds: float
    settled: bool

    def to_dict(self) -> dict[str, object]:
        return {"calls": self.calls, "seconds": self.seconds, "settled": self.settled}


@dataclass(frozen=True)
class TimingResult:
    samples_ns: tuple[int, ...]
    warmup: WarmupResult
    stop_reason: str  # "ci" | "budget" | "max_samples"
    rel_half_width: float
    extra_calls: int = 0  # untimed repeats inside the window, to reach a probe's minimum

    @property
    def samples_ms(self) -> list[float]:
        return [s / 1e6 for s in self.samples_ns]


def window_size(first_ns: int, per_window: int = 1) -> int:
    """Calls in a warm-up window: about :data:`WINDOW_S` of calls that take ``first_ns`` each
    (``per_window`` calls complete at once, e.g. several requests in flight), between
    :data:`MIN_WINDOW` and :data:`MAX_WINDOW` per ``per_window``."""
    n = int(per_window * WINDOW_S * 1e9 / max(first_ns, 1))
    return max(MIN_WINDOW, per_window, min(MAX_WINDOW * per_window, n))


def settled(previous_median: float | None, median: float) -> bool:
    """Whether a window's median agrees with the previous window's within :data:`SETTLE_REL`."""
    return previous_median is not None and abs(median - previous_median) <= (
        SETTLE_REL * previous_median
    )


def window_median(times_ns: Sequence[int] | np.ndarray) -> float:
    return float(np.median(np.asarray(times_ns, dtype=np.int64)))


def warm_up(
    call: Callable[[], object], max_s: float, *, clock: Clock = time.perf_counter_ns
) -> WarmupResult:
    """Call until the median per-call time of two consecutive windows agrees within
    :data:`SETTLE_REL`, or ``max_s`` have passed (checked after each window: not settled)."""
    start = clock()
    limit = start + int(max_s * 1e9)
    t0 = clock()
    call()  # the first call (allocation, kernel selection, lazy init) is never a sample
    first = clock() - t0
    calls = 1
    window = window_size(first)
    previous: float | None = None
    times = np.empty(window, dtype=np.int64)
    while True:
        for i in range(window):
            t0 = clock()
            call()
            times[i] = clock() - t0
        calls += window
        med = window_median(times)
        now = clock()
        if settled(previous, med):
            return WarmupResult(calls, (now - start) / 1e9, True)
        previous = med
        if now >= limit:
            return WarmupResult(calls, (now - start) / 1e9, False)


def time_calls(
    call: Callable[[], object],
    budget: Budget,
    *,
    clock: Clock = time.perf_counter_ns,
    window: AbstractContextManager[object] | None = None,
    min_window_s: float = 0.0,
) -> TimingResult:
    """Warm up, then take timed samples until the stopping rule or the budget ends.

    ``window`` (the probes' window) is entered after the warm-up, right before the first timed
    call, and left right after the last one: probes see the timed calls and nothing else. A
    window shorter than ``min_window_s`` (a meter slower than the calls) is extended by
    repeating the call inside it (``extra_calls``; the samples are the timed calls only).
    """
    warm = warm_up(call, budget.warmup_limit_s, clock=clock)
    extra = 0
    with window if window is not None else contextlib.nullcontext():
        start = clock() if min_window_s > 0 else 0
        samples, reason, rel = _timed_samples(call, budget, clock)
        if min_window_s > 0:
            end = start + int(min_window_s * 1e9)
            while clock() < end:
                call()
                extra += 1
    return TimingResult(tuple(samples), warm, reason, rel, extra)


def _timed_samples(
    call: Callable[[], object], budget: Budget, clock: Clock
) -> tuple[list[int], str, float]:
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
    return samples, reason, rel
