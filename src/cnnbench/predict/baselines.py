"""The baselines the per-layer predictor is judged against: MACs-only and SyNERGY's two stages,
and what every predictor shares (:class:`Prediction`, :class:`Unavailable`).

* :class:`MacsOnly`: ``t = a + b * MACs``, the naive model the seeds argue against.
* :class:`Synergy`: stage 1 ``t = a * SIMD + b * memory + c`` on networks whose counters were
  measured (here cachegrind's instructions and last-level misses, simulated); stage 2
  ``SIMD = p * MACs + q`` and ``memory = r * MACs + s``, so a network is predicted from MACs
  alone, as the paper does. ``stage1`` predicts from measured counts where a sample has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnbench.predict.dataset import Sample
from cnnbench.predict.features import NetworkFeatures
from cnnbench.predict.regress import LinearFit, fit_linear

MIN_NETWORKS = 3  # a stage with fewer training networks is not fitted


def networks(samples: Sequence[Sample]) -> list[Sample]:
    """The samples that are networks (one-layer probes set aside)."""
    return [s for s in samples if not s.probe]


class Unavailable(Exception):
    """The predictor cannot predict (too little training data of the kind it needs)."""


@dataclass(frozen=True)
class Prediction:
    value: float  # in the target's unit (ms, mJ)
    contributions: tuple[tuple[str, float], ...] = ()  # (term, value), largest first
    notes: tuple[str, ...] = ()


class MacsOnly:
    name = "macs-only"

    def __init__(self) -> None:
        self.line: LinearFit | None = None

    def fit(self, samples: Sequence[Sample]) -> MacsOnly:
        samples = networks(samples)
        if len(samples) < 2:
            raise Unavailable("MACs-only needs 2 training networks")
        x = np.array([[s.features.macs] for s in samples], dtype=float)
        self.line = fit_linear(x, np.array([s.value for s in samples]))
        return self

    def predict(self, f: NetworkFeatures) -> Prediction:
        assert self.line is not None
        t = float(self.line.predict(np.array([[f.macs]]))[0])
        return Prediction(
            t, (("macs", t - self.line.intercept), ("intercept", self.line.intercept))
        )


class Synergy:
    """SyNERGY's two stages (see the module docstring); counts here are cachegrind's."""

    name = "synergy"

    def __init__(self) -> None:
        self.stage1: LinearFit | None = None
        self.simd: LinearFit | None = None
        self.memory: LinearFit | None = None
        self.source = ""
        self.reason = ""

    def fit(self, samples: Sequence[Sample]) -> Synergy:
        counted = [s for s in networks(samples) if s.counts is not None]
        if len(counted) < MIN_NETWORKS:
            self.reason = (
                f"{len(counted)} training network(s) with counters; SyNERGY needs {MIN_NETWORKS}"
            )
            raise Unavailable(self.reason)
        counts = [s.counts for s in counted if s.counts is not None]
        x = np.array([[c.instructions, c.memory] for c in counts])
        t = np.array([s.value for s in counted])
        macs = np.array([[s.features.macs] for s in counted], dtype=float)
        self.stage1 = fit_linear(x, t, positive=True)
        self.simd = fit_linear(macs, x[:, 0], positive=True)
        self.memory = fit_linear(macs, x[:, 1], positive=True)
        self.source = counts[0].source
        return self

    def counts_from_macs(self, macs: float) -> tuple[float, float]:
        assert self.simd is not None and self.memory is not None
        m = np.array([[macs]])
        return float(self.simd.predict(m)[0]), float(self.memory.predict(m)[0])

    def from_counts(self, instructions: float, memory: float) -> float:
        assert self.stage1 is not None
        return float(self.stage1.predict(np.array([[instructions, memory]]))[0])

    def describe(self, counted: Sequence[Sample], unit: str = "ms") -> dict[str, Any]:
        """Both stages' coefficients and their in-sample relative errors on the counted
        networks (too few here to hold any out: the paper's test error needs more); the
        figures' keys end in ``unit`` (``measured_ms``, ``measured_mj``)."""
        assert self.stage1 and self.simd and self.memory
        rows = []
        for s in counted:
            if s.counts is None:
                continue
            simd, mem = self.counts_from_macs(s.features.macs)
            rows.append(
                {
                    "model": s.model,
                    f"measured_{unit}": s.value,
                    f"stage1_{unit}": self.from_counts(s.counts.instructions, s.counts.memory),
                    f"both_stages_{unit}": self.from_counts(simd, mem),
                    "instructions": s.counts.instructions,
                    "instructions_from_macs": simd,
                    "memory": s.counts.memory,
                    "memory_from_macs": mem,
                }
            )
        return {
            "source": self.source,
            "stage1": self.stage1.to_json(),
            "instructions_from_macs": self.simd.to_json(),
            "memory_from_macs": self.memory.to_json(),
            "networks": rows,
        }

    def predict(self, f: NetworkFeatures) -> Prediction:
        if self.stage1 is None:
            raise Unavailable(self.reason or "not fitted")
        simd, mem = self.counts_from_macs(f.macs)
        a, b = self.stage1.coef
        return Prediction(
            self.from_counts(simd, mem),
            (("instructions", a * simd), ("memory", b * mem), ("c", self.stage1.intercept)),
            (f"counts predicted from MACs (stage 2); counts are {self.source}",),
        )
