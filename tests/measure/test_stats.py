"""Statistics on seeded synthetic samples: quantiles, the median's CI, noise warnings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnbench.measure.stats import (
    median_ci,
    median_ci_ranks,
    noise_warnings,
    relative_half_width,
    summarize,
)


def test_known_quantiles_of_1_to_101() -> None:
    s = summarize([float(x) for x in range(1, 102)])
    assert s.median == 51
    assert s.p90 == pytest.approx(91)
    assert s.p99 == pytest.approx(100)
    assert s.min == 1 and s.max == 101 and s.n == 101
    assert s.mean == pytest.approx(51)
    assert s.std == pytest.approx(math.sqrt(sum((x - 51) ** 2 for x in range(1, 102)) / 100))
    assert s.cv == pytest.approx(s.std / 51)


@pytest.mark.parametrize(("n", "ranks"), [(6, (1, 6)), (10, (2, 9)), (20, (6, 15)), (50, (18, 33))])
def test_exact_median_ci_ranks_match_binomial_tables(n: int, ranks: tuple[int, int]) -> None:
    assert median_ci_ranks(n) == ranks


def _binom_cdf(m: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(m + 1)) / 2**n


def test_ranks_reach_the_confidence_exactly() -> None:
    # The interval [X_(j), X_(n-j+1)] covers the median with probability 1 - 2 P(B <= j-1).
    for n in (8, 15, 31, 100, 400, 1000):
        j, k = median_ci_ranks(n)
        assert k == n - j + 1
        assert 1 - 2 * _binom_cdf(j - 1, n) >= 0.95
        assert 1 - 2 * _binom_cdf(j, n) < 0.95  # the next narrower interval would fall short


def test_normal_approximation_continues_the_exact_ranks() -> None:
    j_exact, _ = median_ci_ranks(1000)
    j_approx, _ = median_ci_ranks(1001)
    assert abs(j_exact - j_approx) <= 1


def test_median_ci_coverage_on_seeded_lognormal_samples() -> None:
    rng = np.random.default_rng(42)
    true_median = math.exp(0.0)
    trials, hits = 2000, 0
    for _ in range(trials):
        x = np.sort(rng.lognormal(0.0, 0.5, size=40))
        lo, hi = median_ci(x)
        hits += lo <= true_median <= hi
    assert 0.94 <= hits / trials <= 0.985  # exact intervals are conservative (~96.2 % at n=40)


def test_relative_half_width_shrinks_like_one_over_sqrt_n() -> None:
    rng = np.random.default_rng(1)
    small = relative_half_width(np.sort(rng.normal(10, 1, 100)))
    large = relative_half_width(np.sort(rng.normal(10, 1, 10_000)))
    assert 5 < small / large < 20  # ~10 for a factor 100 in n


def test_quiet_series_has_no_warnings() -> None:
    rng = np.random.default_rng(3)
    assert noise_warnings(list(rng.normal(10.0, 0.1, 300))) == []


def test_high_cv_warning() -> None:
    rng = np.random.default_rng(4)
    warnings = noise_warnings(list(rng.lognormal(0, 0.5, 300)))
    assert any(w.startswith("noise") for w in warnings)


def test_drift_warning() -> None:
    rng = np.random.default_rng(5)
    series = np.concatenate([rng.normal(10, 0.05, 100), rng.normal(11, 0.05, 100)])
    assert any(w.startswith("drift") and "+" in w for w in noise_warnings(list(series)))


def test_low_min_warning() -> None:
    series = [10.0] * 99 + [5.0]
    assert any(w.startswith("outlier") for w in noise_warnings(series))


def test_too_few_samples_is_flagged() -> None:
    assert noise_warnings([1.0, 2.0]) != []


def test_summary_of_seeded_samples_is_a_latency_section() -> None:
    from cnnbench.results.speed import LatencyStats

    samples = np.random.default_rng(42).lognormal(0.0, 0.2, 400)
    s = summarize(samples.tolist())
    assert s.n == 400 and s.median == pytest.approx(float(np.median(samples)))
    assert s.p99 == pytest.approx(float(np.percentile(samples, 99)))
    assert s.ci95[0] <= s.median <= s.ci95[1]
    assert s.rel_half_width == pytest.approx(relative_half_width(np.sort(samples)))
    assert LatencyStats.from_json(s.to_json()) == s
