"""Predictors on synthetic data with known coefficients; cross-validation without leakage."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import OVERHEAD_MS, TRUTH, samples

from cnnbench.predict.evaluate import cross_validate, splits
from cnnbench.predict.predictors import MacsOnly, PerLayer, Synergy, Unavailable
from cnnbench.predict.regress import TreeFit, fit_linear


def test_weighted_linear_fit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(1e6, 1e9, size=(60, 2))
    y = 0.5 + 3e-9 * x[:, 0] + 2e-8 * x[:, 1]
    fit = fit_linear(x, y * (1 + 1e-4 * rng.standard_normal(60)))
    assert fit.coef == pytest.approx((3e-9, 2e-8), rel=0.01)
    assert fit.intercept == pytest.approx(0.5, rel=0.05)
    # non-negative coefficients: a negative truth is clipped to 0, not fitted
    assert fit_linear(x[:, :1], 5.0 - 1e-9 * x[:, 0]).coef[0] == 0.0


def test_macs_only_and_synergy_recover_the_generating_lines() -> None:
    data = samples()
    macs = MacsOnly().fit(data)
    assert macs.line is not None
    syn = Synergy().fit(data)
    assert syn.simd is not None and syn.memory is not None
    assert syn.simd.coef[0] == pytest.approx(3.0, rel=1e-6)
    assert syn.simd.intercept == pytest.approx(1e6, rel=1e-4)
    assert syn.memory.coef[0] == pytest.approx(0.01, rel=1e-6)
    # stage 2 then stage 1: from MACs alone back to the counts the stage-1 line was fitted on
    assert syn.counts_from_macs(1e8) == pytest.approx((3e8 + 1e6, 1e6 + 5e3), rel=1e-6)
    with pytest.raises(Unavailable, match="counters"):
        Synergy().fit([s for s in data if s.counts is None])


def test_per_layer_recovers_kernel_models_and_overhead() -> None:
    data = samples(noise=0.0)
    model = PerLayer().fit(data)
    line = model.kinds["conv"].line
    assert line.coef[0] == pytest.approx(TRUTH["conv"][0], rel=0.02)
    assert line.intercept == pytest.approx(TRUTH["conv"][2], rel=0.05)
    assert model.network is not None
    assert model.network.coef[0] == pytest.approx(1.0, rel=0.02)
    assert model.network.intercept == pytest.approx(OVERHEAD_MS, rel=0.1)
    for s in data:
        assert model.predict(s.features).value == pytest.approx(s.latency_ms, rel=0.01)


def test_trees_replace_the_line_only_where_it_fails() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(1, 1000, size=(200, 3))
    y = np.where(x[:, 0] > 500, 2.0, 0.1) + 1e-4 * x[:, 1]  # a step: no line fits it
    tree = TreeFit().fit(x, y)
    assert np.mean(np.abs(tree.predict(x) - y) / y) < 0.05


def test_splits_never_leak_a_network_or_family() -> None:
    data = samples(n=12)
    for by in ("network", "family"):
        folds = splits(data, by)  # type: ignore[arg-type]
        assert sorted(i for f in folds for i in f.test) == list(range(12))
        for f in folds:
            held = {data[i].model if by == "network" else data[i].family for i in f.test}
            assert held == {f.held_out}
            train_keys = {data[i].model if by == "network" else data[i].family for i in f.train}
            assert not held & train_keys
            assert set(f.train).isdisjoint(f.test)
    assert len(splits(data, "family")) == 4


def test_cross_validation_on_known_data_is_exact_for_per_layer() -> None:
    data = samples(n=16)
    ev = cross_validate(data, "family")
    per_layer = ev.metrics("per-layer")
    assert per_layer is not None and per_layer.n == 16
    assert per_layer.mape < 2 and per_layer.within_10 == 1.0
    stage1 = ev.metrics("synergy-stage1")
    assert stage1 is not None and stage1.n == 8  # only the networks with counts
    assert {o.model for o in ev.outcomes["per-layer"]} == {s.model for s in data}
