"""Cross-validation on networks and families the predictor never saw, and its metrics.

:func:`splits` holds out one network (``by="network"``) or one family (``by="family"``) per
fold: no kernel of a held-out network, nor of any network of a held-out family, is in that
fold's training set (the samples are whole networks, so no layer leaks). Metrics per predictor
(SyNERGY's and nn-Meter's): mean absolute percentage error and its SD, median, RMSPE, the share
of held-out networks within +-5 % and +-10 %, and n. The figures are the samples' target (latency
in ms, or energy in mJ), named by its unit in JSON (``measured_ms``, ``measured_mj``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cnnbench.predict.dataset import LATENCY, Quantity, Sample
from cnnbench.predict.predictors import PREDICTORS, Synergy, Unavailable, make

SplitBy = Literal["network", "family"]
STAGE1 = "synergy-stage1"  # SyNERGY's first stage alone, from measured counts


@dataclass(frozen=True)
class Fold:
    held_out: str  # the network or family
    train: tuple[int, ...]
    test: tuple[int, ...]


def splits(samples: Sequence[Sample], by: SplitBy) -> list[Fold]:
    """One fold per network or family; train and test never share a network (or family).
    One-layer probes are never held out: they are in every fold's training set."""
    key: Callable[[Sample], str] = (lambda s: s.model) if by == "network" else (lambda s: s.family)
    out = []
    for held in sorted({key(s) for s in samples if not s.probe}):
        test = tuple(i for i, s in enumerate(samples) if key(s) == held)
        train = tuple(i for i, s in enumerate(samples) if key(s) != held)
        out.append(Fold(held, train, test))
    return out


@dataclass(frozen=True)
class Outcome:
    """One held-out network's prediction, in its evaluation's target unit."""

    model: str
    family: str
    measured: float
    predicted: float

    @property
    def rel_error(self) -> float:
        return (self.predicted - self.measured) / self.measured


@dataclass(frozen=True)
class Metrics:
    n: int
    mape: float  # percent
    mape_sd: float
    median_ape: float
    rmspe: float
    within_5: float  # share, 0..1
    within_10: float

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Metrics | None:
        if not outcomes:
            return None
        ape = [abs(o.rel_error) * 100 for o in outcomes]
        return cls(
            n=len(ape),
            mape=statistics.fmean(ape),
            mape_sd=statistics.stdev(ape) if len(ape) > 1 else 0.0,
            median_ape=statistics.median(ape),
            rmspe=math.sqrt(statistics.fmean(a * a for a in ape)),
            within_5=sum(a <= 5 for a in ape) / len(ape),
            within_10=sum(a <= 10 for a in ape) / len(ape),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def repeat_spread(samples: Sequence[Sample]) -> Metrics | None:
    """How far the networks' repeated profiles (``--collect --repeats``) lie from each other, in
    a predictor's metrics: each repeat's end-to-end figure against the median of the network's
    other repeats. A predictor judged on targets this noisy cannot score much better; the
    median of N repeats, which the targets are, is steadier than one repeat. None without
    repeats (latency only: an energy sample has none)."""
    outcomes = [
        Outcome(s.model, s.family, statistics.median(s.repeat_ms[:i] + s.repeat_ms[i + 1 :]), r)
        for s in samples
        if not s.probe and len(s.repeat_ms) > 1 and not s.target.energy
        for i, r in enumerate(s.repeat_ms)
    ]
    return Metrics.of(outcomes)


@dataclass(frozen=True)
class Evaluation:
    by: SplitBy
    outcomes: dict[str, tuple[Outcome, ...]]  # predictor -> held-out predictions
    skipped: dict[str, int]  # predictor -> held-out networks it could not predict
    reasons: dict[str, str]
    target: Quantity = LATENCY
    spread: Metrics | None = None  # the targets' own repeats (see repeat_spread)

    def metrics(self, predictor: str) -> Metrics | None:
        return Metrics.of(self.outcomes.get(predictor, ()))

    def worst_families(self, predictor: str, n: int = 3) -> list[tuple[str, float]]:
        """Families by mean absolute percentage error, worst first."""
        by_family: dict[str, list[float]] = {}
        for o in self.outcomes.get(predictor, ()):
            by_family.setdefault(o.family, []).append(abs(o.rel_error) * 100)
        means = [(f, statistics.fmean(v)) for f, v in by_family.items()]
        return sorted(means, key=lambda fv: -fv[1])[:n]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"by": self.by, "unit": self.target.unit, "predictors": {}}
        out["repeat_spread"] = self.spread.to_json() if self.spread else None
        measured, predicted = f"measured_{self.target.key}", f"predicted_{self.target.key}"
        for name, outcomes in self.outcomes.items():
            m = Metrics.of(outcomes)
            out["predictors"][name] = {
                **(m.to_json() if m else {"n": 0}),
                "skipped": self.skipped.get(name, 0),
                "reason": self.reasons.get(name),
                "networks": [
                    {"model": o.model, "family": o.family, measured: o.measured,
                     predicted: o.predicted, "rel_error": o.rel_error}
                    for o in outcomes
                ],
            }  # fmt: skip
        return out


def cross_validate(
    samples: Sequence[Sample], by: SplitBy, predictors: Sequence[str] = PREDICTORS
) -> Evaluation:
    """Fit each predictor on every fold's training networks, predict its held-out ones
    (every sample has the same target)."""
    targets = {s.target for s in samples}
    if len(targets) > 1:
        raise ValueError(f"samples of several targets: {sorted(t.name for t in targets)}")
    target = next(iter(targets), LATENCY)
    names = [*predictors, *([STAGE1] if "synergy" in predictors else [])]
    outcomes: dict[str, list[Outcome]] = {p: [] for p in names}
    skipped = dict.fromkeys(names, 0)
    reasons: dict[str, str] = {}
    for fold in splits(samples, by):
        train = [samples[i] for i in fold.train]
        test = [samples[i] for i in fold.test]
        for name in predictors:
            try:
                model = make(name).fit(train)
            except Unavailable as exc:
                skipped[name] += len(test)
                reasons[name] = str(exc)
                if name == "synergy":
                    skipped[STAGE1] += sum(s.counts is not None for s in test)
                    reasons[STAGE1] = str(exc)
                continue
            for s in test:
                p = model.predict(s.features).value
                outcomes[name].append(Outcome(s.model, s.family, s.value, p))
                if isinstance(model, Synergy) and s.counts is not None:
                    q = model.from_counts(s.counts.instructions, s.counts.memory)
                    outcomes[STAGE1].append(Outcome(s.model, s.family, s.value, q))
    return Evaluation(
        by, {k: tuple(v) for k, v in outcomes.items()}, skipped, reasons, target,
        repeat_spread(samples),
    )  # fmt: skip
