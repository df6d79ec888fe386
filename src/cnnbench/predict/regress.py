"""Regressions that minimise relative error: what a latency predictor is judged on.

:func:`fit_linear` is least squares weighted by ``1 / y^2`` (so each residual counts relative to
its target, as SyNERGY's and nn-Meter's metrics do), coefficients optionally non-negative (time
never falls when work grows); the intercept is free. :class:`TreeFit` is scikit-learn's gradient
boosting on ``log`` features predicting ``log`` time, for layer kinds a line does not fit
(depthwise convolutions and pooling, bound by memory, not by MACs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FLOOR_MS = 1e-3  # targets below 1 us weigh as 1 us (profilers report whole microseconds)


def _weights(y: np.ndarray, floor: float) -> np.ndarray:
    return 1.0 / np.maximum(np.abs(y), floor) ** 2


@dataclass(frozen=True)
class LinearFit:
    """``y = intercept + coef . x``."""

    coef: tuple[float, ...]
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return x @ np.asarray(self.coef) + self.intercept

    def to_json(self) -> dict[str, Any]:
        return {"coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LinearFit:
        return cls(tuple(float(c) for c in d["coef"]), float(d["intercept"]))


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    *,
    positive: bool = True,
    intercept: bool = True,
    relative: bool = True,
    floor: float = FLOOR_MS,
    weights: np.ndarray | None = None,
) -> LinearFit:
    """Weighted least squares (weights ``1/y^2`` when ``relative``, or the ``weights`` given);
    columns are scaled to unit size first so that MAC counts (1e9) and layer counts (1e1) are
    fitted alike."""
    from sklearn.linear_model import LinearRegression

    x = np.atleast_2d(np.asarray(x, dtype=float))
    if x.shape[0] != len(y):
        x = x.T
    y = np.asarray(y, dtype=float)
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    w = weights if weights is not None else _weights(y, floor) if relative else np.ones_like(y)
    model = LinearRegression(positive=positive, fit_intercept=intercept)
    model.fit(x / scale, y, sample_weight=w)
    coef = np.asarray(model.coef_, dtype=float) / scale
    return LinearFit(tuple(float(c) for c in coef), float(model.intercept_) if intercept else 0.0)


class TreeFit:
    """A model of ``log`` time on ``log1p`` features (relative error): gradient-boosted trees
    (``method="tree"``), or a ridge line in the logs (``"log-linear"``: a power law, time ~
    MACs^a x bytes^b x ..., which a kernel's efficiency curve over its shape follows)."""

    def __init__(self, method: str = "tree", seed: int = 0, floor: float = FLOOR_MS):
        self.method = method
        self.seed = seed
        self.floor = floor
        self.model: Any = None

    def fit(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> TreeFit:
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.linear_model import Ridge

        if self.method == "log-linear":
            self.model = Ridge(alpha=1.0)
        else:
            self.model = GradientBoostingRegressor(
                n_estimators=100, max_depth=3, learning_rate=0.1, subsample=0.9,
                random_state=self.seed,
            )  # fmt: skip
        self.model.fit(
            np.log1p(np.maximum(x, 0)),
            np.log(np.maximum(y, self.floor / 10)),
            sample_weight=weights,
        )
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        out: np.ndarray = np.exp(self.model.predict(np.log1p(np.maximum(x, 0))))
        return out
