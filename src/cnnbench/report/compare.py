"""Comparisons with confidence: B against A per configuration, a bootstrap CI95 of the ratio.

For each configuration both sides measured, the figure is the **speedup of B over A**: the
ratio of per-image median times, A / B (above 1: B is faster). Its CI95 comes from a seeded
percentile bootstrap over the raw samples (each side resampled independently, the ratio of the
resampled medians), so it needs no assumption about the shape of the latency distribution. The
verdict is ``faster`` or ``slower`` when the interval excludes 1, else ``no significant
difference``. The geometric mean over configurations gets its CI95 from the same bootstrap
draws (replicate by replicate), so it is seeded too.

Between two stores of one machine, a configuration that became significantly slower by more
than :data:`REGRESSION_MIN` is flagged as a regression: within-run samples understate the
run-to-run spread of a shared machine, so a smaller significant slowdown is reported but not
flagged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from cnnbench.results.record import ResultRecord

RESAMPLES = 2000
SEED = 0
CHUNK_VALUES = 4_000_000  # samples resampled per step (bounds memory at ~32 MB)
REGRESSION_MIN = 0.05  # a flagged regression is at least 5 % slower
FASTER, SLOWER, SAME = "faster", "slower", "no significant difference"


@dataclass(frozen=True)
class RatioCI:
    """A ratio with its CI95 and the bootstrap replicates it came from."""

    ratio: float
    ci95: tuple[float, float]
    draws: np.ndarray  # RESAMPLES replicates of the ratio

    @property
    def verdict(self) -> str:
        if self.ci95[0] > 1:
            return FASTER
        if self.ci95[1] < 1:
            return SLOWER
        return SAME


def bootstrap_medians(
    samples: Sequence[float] | np.ndarray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
) -> np.ndarray:
    """``resamples`` medians of resamples (with replacement) of ``samples``."""
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("no samples to resample")
    out = np.empty(resamples)
    step = max(1, CHUNK_VALUES // x.size)
    for start in range(0, resamples, step):
        k = min(step, resamples - start)
        idx = rng.integers(0, x.size, size=(k, x.size))
        out[start : start + k] = np.median(x[idx], axis=1)
    return out


def speedup_ci(
    a_samples: Sequence[float] | np.ndarray,
    b_samples: Sequence[float] | np.ndarray,
    *,
    a_scale: float = 1.0,
    b_scale: float = 1.0,
    seed: int = SEED,
    resamples: int = RESAMPLES,
) -> RatioCI:
    """Speedup of B over A, ``(median(A) / a_scale) / (median(B) / b_scale)``, with a seeded
    percentile-bootstrap CI95. The scales turn a call's time into a per-image time (the batch)."""
    rng = np.random.default_rng(seed)
    ma = bootstrap_medians(a_samples, rng, resamples) / a_scale
    mb = bootstrap_medians(b_samples, rng, resamples) / b_scale
    draws = ma / mb
    point = (float(np.median(a_samples)) / a_scale) / (float(np.median(b_samples)) / b_scale)
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return RatioCI(point, (float(lo), float(hi)), draws)


@dataclass(frozen=True)
class Pair:
    """One configuration both sides measured, and the speedup of B over A there."""

    label: str
    a: ResultRecord
    b: ResultRecord
    speedup: RatioCI
    same_machine: bool

    @property
    def regression(self) -> bool:
        """B is significantly slower than A on the same machine, by at least REGRESSION_MIN."""
        return (
            self.same_machine
            and self.speedup.verdict == SLOWER
            and self.speedup.ratio <= 1 - REGRESSION_MIN
        )


@dataclass(frozen=True)
class Comparison:
    """B against A over every configuration both measured."""

    a_label: str
    b_label: str
    pairs: tuple[Pair, ...]
    only_a: tuple[str, ...] = ()  # configurations without a usable counterpart
    only_b: tuple[str, ...] = ()
    regressions_checked: bool = False  # two stores or exports of one machine

    @property
    def geomean(self) -> RatioCI | None:
        """The geometric mean of the speedups, its CI95 from the replicates."""
        if not self.pairs:
            return None
        logs = np.stack([np.log(p.speedup.draws) for p in self.pairs])
        draws = np.exp(logs.mean(axis=0))
        point = math.exp(sum(math.log(p.speedup.ratio) for p in self.pairs) / len(self.pairs))
        lo, hi = np.percentile(draws, [2.5, 97.5])
        return RatioCI(point, (float(lo), float(hi)), draws)

    @property
    def regressions(self) -> tuple[Pair, ...]:
        return tuple(p for p in self.pairs if p.regression)


def per_image_scale(rec: ResultRecord) -> float:
    """Images per timed call: the batch (the best batch of a throughput sweep)."""
    if rec.spec.mode == "throughput" and rec.throughput and rec.throughput.best_batch:
        return float(rec.throughput.best_batch)
    return float(rec.spec.batch)


def usable(rec: ResultRecord) -> bool:
    return rec.status == "ok" and len(rec.samples_ms) > 0


def compare_records(
    a: Sequence[ResultRecord],
    b: Sequence[ResultRecord],
    key: Callable[[ResultRecord], Hashable],
    label: Callable[[ResultRecord], str],
    *,
    a_label: str,
    b_label: str,
    regressions: bool = False,
    seed: int = SEED,
) -> Comparison:
    """Pair the records of A and B by ``key`` (the newest usable record of each key on each
    side) and compare each pair. Records must carry their raw samples."""
    newest_a = _newest(a, key)
    newest_b = _newest(b, key)
    pairs = []
    for k, ra in newest_a.items():
        rb = newest_b.get(k)
        if rb is None:
            continue
        pairs.append(
            Pair(
                label=label(ra),
                a=ra,
                b=rb,
                speedup=speedup_ci(
                    ra.samples_ms,
                    rb.samples_ms,
                    a_scale=per_image_scale(ra),
                    b_scale=per_image_scale(rb),
                    seed=seed,
                ),
                same_machine=ra.machine.get("id") == rb.machine.get("id"),
            )
        )
    return Comparison(
        a_label=a_label,
        b_label=b_label,
        pairs=tuple(pairs),
        only_a=tuple(label(r) for k, r in newest_a.items() if k not in newest_b),
        only_b=tuple(label(r) for k, r in newest_b.items() if k not in newest_a),
        regressions_checked=regressions,
    )


def _newest(
    records: Sequence[ResultRecord], key: Callable[[ResultRecord], Hashable]
) -> dict[Hashable, ResultRecord]:
    out: dict[Hashable, ResultRecord] = {}
    for rec in sorted((r for r in records if usable(r)), key=lambda r: r.created):
        out[key(rec)] = rec  # later records replace earlier ones
    return out
