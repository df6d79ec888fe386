"""One-layer probes (``layer/KIND?...``): names, errors, the module, and its cost by formula."""

from __future__ import annotations

import math

import pytest
import torch

from cnnbench.errors import BadInput
from cnnbench.graph.cost import model_cost
from cnnbench.models import create_model, get_model_info, is_builtin_ref
from cnnbench.models.layers import LayerConfig
from cnnbench.predict.features import NetworkFeatures


def test_names_are_canonical_and_round_trip() -> None:
    ref = "LAYER/conv?stride=2,kh=3&kw=3&cin=32&cout=64&hw=28&groups=1"
    info = get_model_info(ref)
    assert info.name == "layer/conv?cin=32&cout=64&groups=1&hw=28&kh=3&kw=3&stride=2"
    assert info.family == "layer" and info.input_shape == (32, 28, 28)
    assert LayerConfig.parse(info.name).name == info.name
    assert get_model_info("layer/fc?cin=512&cout=10").input_shape == (512, 1, 1)
    assert is_builtin_ref(info.name)  # project code: may be costed in the parent


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        ("layer/convv?cin=8", "did you mean conv"),
        ("layer/fc?cin=8&hw=4", "unknown key 'hw'"),
        ("layer/conv?cin=8&cin=8", "given twice"),
        ("layer/conv?cin=x", "positive integer"),
        ("layer/conv?cin=6&cout=8&groups=4", "must divide"),
        ("layer/maxpool?cin=8&hw=2&kh=3", "kernel on a 2x2 input"),
    ],
)
def test_bad_probe_names_say_what_is_wrong(ref: str, needle: str) -> None:
    with pytest.raises(BadInput, match=needle):
        get_model_info(ref)


@pytest.mark.parametrize(
    ("ref", "out_shape"),
    [
        ("layer/conv?cin=16&cout=24&groups=1&hw=14&kh=3&kw=3&stride=2", (1, 24, 7, 7)),
        ("layer/conv?cin=16&cout=16&groups=16&hw=14&kh=5&kw=5&stride=1", (1, 16, 14, 14)),
        ("layer/conv?cin=16&cout=16&groups=1&hw=14&kh=1&kw=7&stride=1", (1, 16, 14, 14)),
        ("layer/fc?cin=64&cout=10", (1, 10)),
        ("layer/maxpool?cin=8&hw=14&kh=3&kw=3&stride=2", (1, 8, 7, 7)),
        ("layer/avgpool?cin=8&hw=14&kh=2&kw=2&stride=2", (1, 8, 8, 8)),
    ],
)
def test_the_module_runs_with_the_declared_input(ref: str, out_shape: tuple[int, ...]) -> None:
    info = get_model_info(ref)
    with torch.no_grad():
        y = create_model(ref)(torch.randn(1, *info.input_shape))
    assert tuple(y.shape) == out_shape


def test_a_probe_is_one_predicted_kernel_whose_macs_follow_the_formula() -> None:
    c = LayerConfig("conv", cin=32, cout=48, hw=28, kh=3, kw=1, stride=2, groups=4)
    cost = model_cost(c.name, c.input_shape, 1)
    out = math.ceil(28 / 2) ** 2
    assert cost.macs == out * 48 * (32 // 4) * 3 * 1
    (kernel,) = NetworkFeatures.of(cost, c.name).kernels  # conv + BN + ReLU fused: one kernel
    assert kernel.kind == "conv_group" and kernel.tails >= 1 and kernel.groups == 4
    assert (kernel.cin, kernel.cout, kernel.kernel_area, kernel.stride) == (32, 48, 3, 2)
    fc = LayerConfig("fc", cin=256, cout=100)
    kinds = [k.kind for k in NetworkFeatures.of(model_cost(fc.name, fc.input_shape, 1)).kernels]
    assert kinds == ["reshape", "fc"]
