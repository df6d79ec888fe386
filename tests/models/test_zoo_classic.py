"""Classic CNNs of the zoo: parameter and MAC counts against published figures, forward shapes.

MACs are conv + linear multiply-accumulates, ``FlopCounterMode`` total flops / 2 at batch 1 and
the registered input size. The counter works from tensor shapes, so the count runs on the meta
device (no 20 GMAC VGG-19 forward on the CPU); ``test_meta_count_equals_real_count`` checks on
a small network that this gives the same figure as real tensors.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbench.models import create_model, get_model_info

# ---------------------------------------------------------------------------------------------
# Independent formulas for the two networks without a single published figure.


def _conv(
    cin: int, cout: int, k: int, stride: int, pad: int, hw: int, bias: bool, groups: int = 1
) -> tuple[int, int, int]:
    """(params, MACs, output size) of a square convolution on a square ``hw`` map."""
    weights = cout * (cin // groups) * k * k
    out = (hw + 2 * pad - k) // stride + 1
    return weights + (cout if bias else 0), weights * out * out, out


def nin_counts(hw: int = 224, classes: int = 1000) -> tuple[int, int]:
    """Params and MACs of the Caffe NIN-ImageNet table (max pools 3x3/2 with Caffe's ceil)."""
    table = [  # (k, stride, pad, cout of the spatial conv, then of the two 1x1 convs)
        (11, 4, 0, (96, 96, 96)),
        (5, 1, 2, (256, 256, 256)),
        (3, 1, 1, (384, 384, 384)),
        (3, 1, 1, (1024, 1024, classes)),
    ]
    params = macs = 0
    cin = 3
    for i, (k, stride, pad, widths) in enumerate(table):
        for j, cout in enumerate(widths):
            p, m, hw = _conv(
                cin,
                cout,
                k if j == 0 else 1,
                stride if j == 0 else 1,
                pad if j == 0 else 0,
                hw,
                bias=True,
            )
            params, macs, cin = params + p, macs + m, cout
        if i < len(table) - 1:
            hw = math.ceil((hw - 3) / 2) + 1
    return params, macs


def cifar_resnet101_counts(hw: int = 32, classes: int = 10) -> tuple[int, int]:
    """Params and MACs of ResNet-101 with a 3x3/1 64-channel stem and no max pool."""
    params, macs, hw = _conv(3, 64, 3, 1, 1, hw, bias=False)
    params += 2 * 64  # stem BatchNorm
    cin = 64
    for planes, count, first_stride in ((64, 3, 1), (128, 4, 2), (256, 23, 2), (512, 3, 2)):
        cout = 4 * planes
        for b in range(count):
            stride = first_stride if b == 0 else 1
            p1, m1, _ = _conv(cin, planes, 1, 1, 0, hw, bias=False)
            p2, m2, out = _conv(planes, planes, 3, stride, 1, hw, bias=False)
            p3, m3, _ = _conv(planes, cout, 1, 1, 0, out, bias=False)
            params += p1 + p2 + p3 + 2 * (planes + planes + cout)
            macs += m1 + m2 + m3
            if stride != 1 or cin != cout:
                ps, ms, _ = _conv(cin, cout, 1, stride, 0, hw, bias=False)
                params += ps + 2 * cout
                macs += ms
            cin, hw = cout, out
    params += cin * classes + classes
    macs += cin * classes
    return params, macs


_NIN_PARAMS, _NIN_MACS = nin_counts()
_CIFAR_PARAMS, _CIFAR_MACS = cifar_resnet101_counts()

# name: (params in M, GMACs, family, input shape, dataset, classes, forward test size)
IMAGENET = (3, 224, 224)
EXPECTED: dict[str, tuple[float, float, str, tuple[int, ...], str, int, int]] = {
    "alexnet": (61.10, 0.71, "alexnet", IMAGENET, "imagenet", 1000, 64),
    "vgg16": (138.36, 15.47, "vgg", IMAGENET, "imagenet", 1000, 64),
    "vgg19": (143.67, 19.63, "vgg", IMAGENET, "imagenet", 1000, 64),
    "squeezenet1_0": (1.25, 0.82, "squeezenet", IMAGENET, "imagenet", 1000, 64),
    "squeezenet1_1": (1.24, 0.35, "squeezenet", IMAGENET, "imagenet", 1000, 64),
    "nin": (_NIN_PARAMS / 1e6, _NIN_MACS / 1e9, "nin", IMAGENET, "imagenet", 1000, 64),
    "mobilenet_v1": (4.23, 0.57, "mobilenet", IMAGENET, "imagenet", 1000, 64),
    "resnext50_32x4d": (25.03, 4.23, "resnet", IMAGENET, "imagenet", 1000, 64),
    "resnext101_32x8d": (88.79, 16.41, "resnet", IMAGENET, "imagenet", 1000, 64),
    "resnet101_cifar": (
        _CIFAR_PARAMS / 1e6,
        _CIFAR_MACS / 1e9,
        "resnet",
        (3, 32, 32),
        "cifar10",
        10,
        32,
    ),
}
NAMES = sorted(EXPECTED)


@functools.cache
def meta_counts(name: str) -> tuple[int, int]:
    """(parameters, MACs) of the named model at its registered input size, on the meta device."""
    info = get_model_info(name)
    with torch.device("meta"):
        model = info.factory().eval()
        x = torch.empty(1, *info.input_shape)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    params = sum(p.numel() for p in model.parameters())
    return params, counter.get_total_flops() // 2


def test_formulas_match_documented_figures() -> None:
    assert (_NIN_PARAMS, round(_NIN_MACS / 1e9, 2)) == (7_595_176, 1.10)
    assert (_CIFAR_PARAMS, round(_CIFAR_MACS / 1e9, 2)) == (42_512_970, 2.51)


@pytest.mark.parametrize("name", NAMES)
def test_registered(name: str) -> None:
    _, _, family, shape, dataset, _, _ = EXPECTED[name]
    info = get_model_info(name)
    assert (info.name, info.family, info.input_shape, info.dataset) == (
        name,
        family,
        shape,
        dataset,
    )
    assert "params" in info.description and "MACs" in info.description


@pytest.mark.parametrize("name", NAMES)
def test_params(name: str) -> None:
    params, _ = meta_counts(name)
    assert params / 1e6 == pytest.approx(EXPECTED[name][0], rel=0.01)


@pytest.mark.parametrize("name", NAMES)
def test_macs(name: str) -> None:
    _, macs = meta_counts(name)
    assert macs / 1e9 == pytest.approx(EXPECTED[name][1], rel=0.01)


def test_exact_formula_counts() -> None:
    assert meta_counts("nin") == (_NIN_PARAMS, _NIN_MACS)
    assert meta_counts("resnet101_cifar") == (_CIFAR_PARAMS, _CIFAR_MACS)


def test_meta_count_equals_real_count() -> None:
    model = create_model("squeezenet1_1")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 3, 224, 224))
    assert counter.get_total_flops() // 2 == meta_counts("squeezenet1_1")[1]


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape(name: str) -> None:
    classes, size = EXPECTED[name][5], EXPECTED[name][6]
    torch.manual_seed(0)
    model = create_model(name)
    assert not model.training
    assert sum(p.numel() for p in model.parameters()) == meta_counts(name)[0]
    with torch.no_grad():
        out = model(torch.randn(1, 3, size, size))
    assert out.shape == (1, classes)
    assert torch.isfinite(out).all()
