"""Layout: reorders an engine inserts join the kernel before them, channels that fill no whole
vector count their bytes, and the network terms give each kernel kind a scale drawn to 1."""

from __future__ import annotations

import numpy as np
import pytest

from cnnbench.predict.features import KernelFeatures, input_loads, misaligned_bytes
from cnnbench.predict.predictors import _fit_scales, _network_x, _rest
from cnnbench.results.sections import LayerRecord


def _conv(cin: int, cout: int) -> KernelFeatures:
    macs = 28 * 28 * 9 * cout * cin
    return KernelFeatures(
        "conv", ("c",), macs, 2 * macs, 0, 0, 28 * 28 * cin * 4, 28 * 28 * cout * 4, 9, 1, 1,
        cin, cout,
    )  # fmt: skip


def test_misaligned_bytes_count_the_sides_whose_channels_fill_no_whole_vector() -> None:
    k = _conv(24, 48)
    assert misaligned_bytes(k, 16) == k.input_bytes  # 24 channels: 1.5 AVX-512 vectors
    assert misaligned_bytes(k, 8) == 0  # three AVX2 vectors, six: both whole
    assert misaligned_bytes(_conv(48, 24), 16) == _conv(48, 24).output_bytes
    assert misaligned_bytes(_conv(20, 20), 8) == _conv(20, 20).bytes  # both sides, AVX2 too
    assert misaligned_bytes(_conv(3, 64), 16) == 0  # an RGB input is read as it is
    assert misaligned_bytes(k, 0) == 0  # lanes unknown: nothing is claimed


def test_input_loads_count_one_load_per_output_channels_reused_up_to_four_vectors() -> None:
    narrow, wide, wider = _conv(64, 16), _conv(64, 64), _conv(64, 256)
    # AVX-512: 16 lanes, 4 vectors = 64 output channels share each load
    assert input_loads(narrow, 16) == narrow.macs // 16
    assert input_loads(wide, 16) == wide.macs // 64
    assert input_loads(wider, 16) == wider.macs // 64  # beyond 4 vectors: another pass
    # AVX2: 8 lanes, 4 vectors = 32 channels
    assert input_loads(wide, 8) == wide.macs // 32 and input_loads(narrow, 8) == narrow.macs // 16
    depthwise = KernelFeatures(
        "conv_dw", ("d",), 28 * 28 * 9 * 32, 0, 0, 0, 0, 0, 9, 1, 32, 32, 32
    )  # fmt: skip
    assert input_loads(depthwise, 16) == 0 and input_loads(wide, 0) == 0


def test_layout_layers_join_the_kernel_executed_before_them() -> None:
    pytest.importorskip("onnx")
    from cnnbench.graph.cost import model_cost
    from cnnbench.measure.layers import cost_index
    from cnnbench.predict.dataset import attribute
    from cnnbench.predict.features import NetworkFeatures

    cost = model_cost("tinynet")
    f = NetworkFeatures.of(cost, "tinynet")
    index = cost_index(cost)
    first, second = f.kernels[0].nodes[0], f.kernels[1].nodes[0]
    assert first in index and second in index
    layers = [
        LayerRecord("ReorderInput", "reshape", ("ReorderInput",), 0.004),  # before any kernel
        LayerRecord(first, "conv", (first,), 0.100),
        LayerRecord("ReorderOutput_token_9", "reshape", ("ReorderOutput_token_9",), 0.030),
        LayerRecord(second, "pool", (second,), 0.050),
        LayerRecord("ReorderOutput", "reshape", (), 0.006),
    ]
    per_kernel, loose = attribute(layers, cost, f)
    assert per_kernel[0] == pytest.approx(0.004 + 0.100 + 0.030)
    assert per_kernel[1] == pytest.approx(0.050 + 0.006)
    assert sum(per_kernel[2:]) == 0.0
    assert loose == pytest.approx(0.040)  # the layout layers' part, already in the kernels
    assert sum(per_kernel) == pytest.approx(sum(x.time_ms or 0 for x in layers))


def test_network_terms_recover_known_scales_and_a_negative_count() -> None:
    rng = np.random.default_rng(7)
    columns = ("conv", "pool")
    true = {"conv": 0.9, "pool": 1.3}
    a, b = 0.02, -0.002  # a profiler that added 2 us to each kernel in training
    x, y, rest = [], [], []
    for _ in range(40):
        per_kind = {"conv": rng.uniform(0.1, 20), "pool": rng.uniform(0.01, 3)}
        if rng.random() < 0.5:
            per_kind["conv_group"] = rng.uniform(0.01, 1)  # no column of its own: scale 1
        n = int(rng.integers(5, 120))
        x.append(_network_x(per_kind, columns, n))
        rest.append(_rest(per_kind, columns))
        scaled = sum(true[c] * per_kind[c] for c in columns)
        y.append(a + scaled + per_kind.get("conv_group", 0.0) + b * n)
    fit = _fit_scales(np.array(x), np.array(y), len(columns), np.array(rest))
    assert fit.coef[0] == pytest.approx(0.9, abs=0.01)
    assert fit.coef[1] == pytest.approx(1.3, abs=0.02)
    assert fit.coef[2] == pytest.approx(b, rel=0.1)
    assert fit.intercept == pytest.approx(a, abs=0.01)
    assert _rest({"conv": 1.0, "conv_group": 0.5, "concat": 0.25}, columns) == 0.75


def test_a_kind_the_networks_hardly_spend_time_on_keeps_a_scale_near_one() -> None:
    rng = np.random.default_rng(1)
    columns = ("conv", "fc")
    x, y = [], []
    for _ in range(20):
        per_kind = {"conv": rng.uniform(1, 20), "fc": rng.uniform(1e-4, 1e-3)}  # a 1000-way head
        x.append(_network_x(per_kind, columns, 10))
        y.append((per_kind["conv"] + per_kind["fc"]) * (1 + rng.normal(0, 0.02)))  # 2 % noise
    xs, ys = np.array(x), np.array(y)
    fit = _fit_scales(xs, ys, len(columns))
    w = 1 / ys
    free = np.linalg.lstsq(np.column_stack([np.ones(20), xs]) * w[:, None], ys * w, rcond=None)[0]
    # unpenalised, the noise decides fc's scale; drawn to 1, it stays near the kernel models'
    assert abs(free[2] - 1) > 2
    assert abs(fit.coef[1] - 1) < 0.25 * abs(free[2] - 1)
    assert fit.coef[0] == pytest.approx(1.0, abs=0.05)
