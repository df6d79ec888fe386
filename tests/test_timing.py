"""The timing loop's stopping rule, checked with calls of known, controlled duration."""

from __future__ import annotations

import time

import numpy as np

from cnnbench.measure.timing import time_calls, warm_up
from cnnbench.spec import Budget


def _busy(seconds: float):
    def call() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    return call


def test_steady_call_stops_on_confidence_interval() -> None:
    r = time_calls(_busy(200e-6), Budget(seconds=10, min_samples=20, target_rel_ci=0.02))
    assert r.stop_reason == "ci"
    assert r.rel_half_width <= 0.02
    assert len(r.samples_ns) >= 20
    assert 150e3 < float(np.median(r.samples_ns)) < 2e6  # ns: the call takes >= 200 us


def test_budget_ends_an_unsettling_series() -> None:
    rng = np.random.default_rng(0)
    durations = iter(rng.choice([50e-6, 800e-6], size=1_000_000))

    def noisy() -> None:
        _busy(float(next(durations)))()

    start = time.perf_counter()
    r = time_calls(noisy, Budget(seconds=0.3, min_samples=5, target_rel_ci=0.001, warmup_max_s=0.1))
    elapsed = time.perf_counter() - start
    assert r.stop_reason == "budget"
    assert elapsed < 2.0
    assert r.rel_half_width > 0.001


def test_min_samples_is_honoured_even_past_the_budget() -> None:
    r = time_calls(_busy(20e-3), Budget(seconds=0.01, min_samples=12, warmup_max_s=0.01))
    assert len(r.samples_ns) >= 12


def test_max_samples_caps_the_series() -> None:
    flip = {"n": 0}

    def bimodal() -> None:  # half the calls 20 us, half 60 us: the median's CI stays wide
        flip["n"] += 1
        _busy(20e-6 if flip["n"] % 2 else 60e-6)()

    budget = Budget(seconds=30, min_samples=10, max_samples=500, target_rel_ci=1e-3)
    r = time_calls(bimodal, budget)
    assert r.stop_reason == "max_samples"
    assert len(r.samples_ns) == 500


def test_warm_up_waits_for_the_slow_first_calls() -> None:
    calls = {"n": 0}

    def slowing_down_then_steady() -> None:
        calls["n"] += 1
        _busy(5e-3 if calls["n"] <= 3 else 200e-6)()

    w = warm_up(slowing_down_then_steady, max_seconds=5)
    assert w.settled
    assert w.calls > 3
