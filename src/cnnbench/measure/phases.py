"""Phases in a latency series: level shifts found by binary segmentation on block medians.

A run can change level part-way (a frequency change, a thread-pool policy kicking in, another
job starting): the samples then form phases with different medians, and one median over all of
them describes none. The series (in the order it was taken) is cut into at most
:data:`MAX_BLOCKS` consecutive blocks; each block is summarised by its median, which is robust to
single outliers. Binary segmentation then splits a stretch of blocks where the L1 cost (sum of
absolute deviations from each side's median) drops most, and keeps the split only when it is a
real shift of level:

* the two sides' medians differ by at least :data:`MIN_SHIFT_REL` (5 %), and
* a Mann-Whitney rank test between the two sides' block medians gives ``|z| >=`` :data:`MIN_Z`
  (about p < 1e-4 two-sided), and
* each side holds at least :data:`MIN_PHASE_FRACTION` of the series and :data:`MIN_BLOCKS`
  blocks.

Each side is searched again, so a series can have several phases. Split points are block
boundaries: a phase's start is exact to one block (``len(samples) / MAX_BLOCKS`` samples).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_BLOCKS = 200
MIN_BLOCKS = 5
MIN_PHASE_FRACTION = 0.05
MIN_SHIFT_REL = 0.05
MIN_Z = 4.0
MIN_SAMPLES = 4 * MIN_BLOCKS  # below this a series is one phase


@dataclass(frozen=True)
class Phase:
    """A stretch of consecutive samples at one level."""

    start: int  # index of its first sample
    length: int
    median_ms: float

    def describe(self) -> str:
        return (
            f"samples {self.start}-{self.start + self.length - 1} "
            f"({self.length}) at {self.median_ms:.4g} ms"
        )


def find_phases(samples_ms: Sequence[float]) -> list[Phase]:
    """The phases of a series in order; one phase when no level shift is found."""
    x = np.asarray(samples_ms, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        return []
    if n < MIN_SAMPLES:
        return [Phase(0, n, float(np.median(x)))]
    edges = np.linspace(0, n, min(MAX_BLOCKS, n // 2) + 1).astype(int)
    blocks = np.array([np.median(x[a:b]) for a, b in itertools.pairwise(edges)])
    min_len = max(MIN_BLOCKS, math.ceil(MIN_PHASE_FRACTION * len(blocks)))
    cuts = sorted(_split(blocks, 0, len(blocks), min_len))
    bounds = [0, *cuts, len(blocks)]
    phases = []
    for lo, hi in itertools.pairwise(bounds):
        start, stop = int(edges[lo]), int(edges[hi])
        phases.append(Phase(start, stop - start, float(np.median(x[start:stop]))))
    return phases


def _l1(values: np.ndarray) -> float:
    return float(np.abs(values - np.median(values)).sum()) if values.size else 0.0


def _split(blocks: np.ndarray, lo: int, hi: int, min_len: int) -> list[int]:
    """Block indices where [lo, hi) splits into phases (recursively)."""
    if hi - lo < 2 * min_len:
        return []
    best_k, best_cost = -1, math.inf
    for k in range(lo + min_len, hi - min_len + 1):
        cost = _l1(blocks[lo:k]) + _l1(blocks[k:hi])
        if cost < best_cost:
            best_k, best_cost = k, cost
    left, right = blocks[lo:best_k], blocks[best_k:hi]
    m_left, m_right = float(np.median(left)), float(np.median(right))
    shift = abs(m_right - m_left) / min(m_left, m_right) if min(m_left, m_right) > 0 else 0.0
    if shift < MIN_SHIFT_REL or abs(mann_whitney_z(left, right)) < MIN_Z:
        return []
    return [*_split(blocks, lo, best_k, min_len), best_k, *_split(blocks, best_k, hi, min_len)]


def mann_whitney_z(a: np.ndarray, b: np.ndarray) -> float:
    """The normal-approximation z of the Mann-Whitney U statistic (mid-ranks for ties, the
    tie-corrected variance); positive when ``b`` tends to be larger."""
    n1, n2 = int(a.size), int(b.size)
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(both.size, dtype=np.float64)
    ranks[order] = np.arange(1, both.size + 1)
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]  # mid-ranks
    u = float(ranks[n1:].sum()) - n2 * (n2 + 1) / 2
    n = n1 + n2
    ties = float((counts**3 - counts).sum())
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    return (u - n1 * n2 / 2) / math.sqrt(var) if var > 0 else 0.0


def phase_warning(phases: Sequence[Phase], headline_ms: float) -> str | None:
    """A warning naming each phase, and the phase the headline median falls in."""
    if len(phases) < 2:
        return None
    listed = "; ".join(p.describe() for p in phases)
    home = min(phases, key=lambda p: abs(p.median_ms - headline_ms))
    which = phases.index(home) + 1
    last = phases[-1]
    tail = (
        f"; the last phase ({last.length} samples) is the steady state"
        if last.length >= sum(p.length for p in phases) / 2
        else ""
    )
    return (
        f"phases: {len(phases) - 1} level shift(s): {listed}; the median "
        f"{headline_ms:.4g} ms lies closest to phase {which}{tail}"
    )
