"""The timing loop's warm-up and stopping rule, on a fake clock: no test depends on real time.

The clock is an object whose ``__call__`` returns a nanosecond counter; only the timed call
advances it, by the next of its scripted durations. So every sample the loop records is exactly
one scripted duration, and every decision of the loop can be recomputed here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import numpy as np
import pytest

from cnnbench.measure.stats import median_ci_ranks
from cnnbench.measure.timing import (
    CHECK_GROWTH,
    SETTLE_REL,
    WarmupResult,
    time_calls,
    warm_up,
    window_size,
)
from cnnbench.spec import Budget

MS = 1_000_000  # ns


class FakeClock:
    """A nanosecond counter that moves only when told to."""

    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, ns: int) -> None:
        self.now_ns += int(ns)


def scripted(clock: FakeClock, durations_ns: Iterable[int]) -> Callable[[], None]:
    """A call that takes the next scripted duration on ``clock``."""
    it = iter(durations_ns)

    def call() -> None:
        clock.advance(next(it))

    return call


def rel_half_width(samples: list[int]) -> float:
    """The median's CI half-width relative to the median, from the order-statistic ranks."""
    a = sorted(samples)
    j, k = median_ci_ranks(len(a))
    med = float(np.median(a))
    return max(med - a[j - 1], a[k - 1] - med) / med


def check_points(first: int, last: int) -> list[int]:
    """The sample counts at which the stopping rule is evaluated."""
    points, n = [], first
    while n <= last:
        points.append(n)
        n = max(n + 1, int(n * CHECK_GROWTH))
    return points


def steady(ms: float = 1.0) -> Iterable[int]:
    return itertools.repeat(int(ms * MS))


# -- warm-up --------------------------------------------------------------------------------


def test_warm_up_settles_after_a_scripted_transient() -> None:
    clock = FakeClock()
    # First call 50 ms, so a window is 3 calls; the windows' medians fall 8, 4, 2, 1, 1 ms.
    assert window_size(50 * MS) == 3
    transient = [50, 8, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1]
    durations = [d * MS for d in transient] + [1 * MS] * 100
    w = warm_up(scripted(clock, durations), 10.0, clock=clock)
    assert w == WarmupResult(calls=16, seconds=pytest.approx(0.098), settled=True)
    assert clock.now_ns == sum(durations[:16])


def test_warm_up_within_settle_rel_is_settled_and_beyond_is_not() -> None:
    inside = 1 + SETTLE_REL * 0.99
    clock = FakeClock()
    w = warm_up(
        scripted(clock, [50 * MS, *[10 * MS] * 3, *[int(10 * MS * inside)] * 3]), 10.0, clock=clock
    )
    assert w.settled and w.calls == 7


def test_warm_up_that_never_settles_stops_at_its_limit() -> None:
    clock = FakeClock()
    window = window_size(50 * MS)
    # Every window 20 % slower than the one before: never within SETTLE_REL.
    durations = [50 * MS] + [int(MS * 1.2 ** (i // window)) for i in range(10_000)]
    w = warm_up(scripted(clock, durations), 0.5, clock=clock)
    assert not w.settled
    ends = np.cumsum(durations)  # the clock after each call
    window_ends = [1 + window * (k + 1) for k in range(1000)]  # calls made at each window end
    first_past = next(c for c in window_ends if ends[c - 1] >= 0.5e9)
    assert w.calls == first_past  # the limit is checked after each whole window
    assert w.seconds == pytest.approx(ends[first_past - 1] / 1e9)


# -- the stopping rule ------------------------------------------------------------------------


def test_stops_on_ci_at_the_first_check_within_target() -> None:
    rng = np.random.default_rng(1)
    noisy = (MS * (1 + 0.05 * rng.standard_normal(100_000))).astype(int).tolist()
    clock = FakeClock()
    budget = Budget(seconds=1000, min_samples=10, target_rel_ci=0.01, warmup_max_s=1.0)
    warm = 1 + 2 * window_size(MS)  # steady calls: the warm-up settles on its second window
    r = time_calls(scripted(clock, [MS] * warm + noisy), budget, clock=clock)
    samples = list(r.samples_ns)
    assert r.warmup.settled and r.warmup.calls == warm
    assert samples == noisy[: len(samples)]
    assert r.stop_reason == "ci"
    points = check_points(budget.min_samples, len(samples))
    assert points[-1] == len(samples)  # it stopped at a check
    assert all(rel_half_width(samples[:n]) > 0.01 for n in points[:-1])
    assert rel_half_width(samples) <= 0.01
    assert r.rel_half_width == pytest.approx(rel_half_width(samples))


def bimodal() -> Iterable[int]:
    """1 ms and 3 ms calls alternately: the median's CI spans both modes and never narrows."""
    return itertools.cycle([1 * MS, 3 * MS])


def test_budget_ends_a_series_whose_ci_never_narrows() -> None:
    clock = FakeClock()
    budget = Budget(seconds=0.5, min_samples=5, target_rel_ci=0.01, warmup_max_s=0.2)
    r = time_calls(scripted(clock, bimodal()), budget, clock=clock)
    assert r.stop_reason == "budget"
    total = np.cumsum(r.samples_ns)
    assert total[-2] < 0.5e9 <= total[-1]  # the first sample that ended past the deadline
    assert r.rel_half_width == pytest.approx(rel_half_width(list(r.samples_ns)))
    assert r.rel_half_width > 0.01


def test_min_samples_is_honoured_past_the_budget() -> None:
    clock = FakeClock()
    budget = Budget(seconds=0.001, min_samples=12, target_rel_ci=0.01, warmup_max_s=0.01)
    r = time_calls(scripted(clock, bimodal()), budget, clock=clock)
    assert r.stop_reason == "budget" and len(r.samples_ns) == 12


def test_max_samples_caps_the_series() -> None:
    clock = FakeClock()
    budget = Budget(seconds=86_400, min_samples=10, max_samples=500, target_rel_ci=1e-3)
    r = time_calls(scripted(clock, bimodal()), budget, clock=clock)
    assert r.stop_reason == "max_samples" and len(r.samples_ns) == 500


def test_a_steady_call_stops_at_the_first_check() -> None:
    clock = FakeClock()
    r = time_calls(scripted(clock, steady()), Budget(min_samples=20), clock=clock)
    assert r.stop_reason == "ci" and len(r.samples_ns) == 20 and r.rel_half_width == 0.0
    assert r.samples_ms == [1.0] * 20


def test_probe_window_holds_the_timed_calls_and_nothing_else() -> None:
    from cnnbench.measure.probes.base import Probe, ProbeReading, probe_window

    clock = FakeClock()
    calls = [0]
    durations = itertools.repeat(MS)

    def call() -> None:
        calls[0] += 1
        clock.advance(next(durations))

    class CallCounter(Probe):
        name, kind = "calls", "counters"

        def start(self) -> None:
            self.at_start = calls[0]

        def stop(self) -> ProbeReading:
            return ProbeReading(self.name, self.kind, "test", {"calls": calls[0] - self.at_start})

    window = probe_window([CallCounter()])
    result = time_calls(call, Budget(seconds=0.05, min_samples=5), clock=clock, window=window)
    (reading,) = window.readings
    assert result.warmup.calls > 0
    assert reading.values["calls"] == len(result.samples_ns)  # warm-up calls are outside
    assert calls[0] == result.warmup.calls + len(result.samples_ns)
