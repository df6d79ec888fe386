"""Level shifts in a latency series, found on seeded synthetic samples."""

from __future__ import annotations

import numpy as np
import pytest

from cnnbench.measure.phases import (
    MAX_BLOCKS,
    Phase,
    find_phases,
    mann_whitney_z,
    phase_warning,
)


def _noise(rng: np.random.Generator, level_ms: float, n: int, cv: float = 0.02) -> np.ndarray:
    return level_ms * rng.lognormal(0.0, cv, n)


def test_a_level_shift_is_found_where_it_happened() -> None:
    # The shape seen with torch eager resnet50: ~145 calls at ~60 ms, then ~78 ms to the end.
    rng = np.random.default_rng(1)
    x = np.concatenate([_noise(rng, 60.0, 145), _noise(rng, 78.0, 755)])
    phases = find_phases(x)
    assert len(phases) == 2
    block = len(x) / MAX_BLOCKS
    assert abs(phases[1].start - 145) <= block  # exact to one block
    assert phases[0].median_ms == pytest.approx(60.0, rel=0.02)
    assert phases[1].median_ms == pytest.approx(78.0, rel=0.02)
    assert sum(p.length for p in phases) == len(x)


def test_stationary_noise_and_outliers_are_one_phase() -> None:
    rng = np.random.default_rng(2)
    x = _noise(rng, 10.0, 5000, cv=0.10)
    x[rng.choice(x.size, 50, replace=False)] *= 5  # scattered slow calls
    (phase,) = find_phases(x)
    assert (phase.start, phase.length) == (0, x.size)


def test_a_small_shift_is_not_a_phase() -> None:
    rng = np.random.default_rng(3)
    x = np.concatenate([_noise(rng, 10.0, 1000), _noise(rng, 10.3, 1000)])  # 3 %
    assert len(find_phases(x)) == 1


def test_several_phases_and_a_short_burst_too_short_to_count() -> None:
    rng = np.random.default_rng(4)
    x = np.concatenate([_noise(rng, 20.0, 3000), _noise(rng, 30.0, 3000), _noise(rng, 22.0, 4000)])
    x[100:120] *= 3  # 0.2 % of the series: below the minimum phase length
    phases = find_phases(x)
    assert [round(p.median_ms) for p in phases] == [20, 30, 22]


def test_short_series_are_one_phase() -> None:
    assert find_phases([1.0, 2.0, 3.0]) == [Phase(0, 3, 2.0)]
    assert find_phases([]) == []


def test_mann_whitney_z_matches_the_closed_form_without_ties() -> None:
    a, b = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 7.0])
    # U for b = n1*n2 = 12 (every b above every a); mean 6, variance 3*4*8/12 = 8.
    assert mann_whitney_z(a, b) == pytest.approx((12 - 6) / np.sqrt(8))
    assert mann_whitney_z(b, a) == pytest.approx(-(12 - 6) / np.sqrt(8))


def test_warning_names_phases_and_the_headline_phase() -> None:
    phases = [Phase(0, 145, 60.0), Phase(145, 755, 78.0)]
    text = phase_warning(phases, 77.5) or ""
    assert text.startswith("phases: 1 level shift(s)")
    assert "samples 0-144 (145) at 60 ms" in text and "samples 145-899 (755) at 78 ms" in text
    assert "closest to phase 2" in text and "steady state" in text
    assert phase_warning([Phase(0, 10, 1.0)], 1.0) is None
