"""GoogLeNet, Inception v3 and YOLOv2: parameter and MAC counts, forward shapes, registry entries.

MACs are conv + linear multiply-accumulates, ``FlopCounterMode`` total flops / 2 at batch 1 and
the registered input size. Each network runs one real full-size forward (cached per module),
which gives both its MAC count and its output shape. Variants that only need counting (the aux
heads, the paper layout of YOLOv2) run on the meta device, where nothing is computed.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnbench.models import create_model, get_model_info
from cnnbench.models.googlenet import googlenet
from cnnbench.models.inception import inception_v3
from cnnbench.models.yolo import yolov2

# ---------------------------------------------------------------------------------------------
# YOLOv2 by closed-form formula from the Darknet cfg layer list, independent of the module.

# cfg/yolov2.cfg up to the 13x13x1024 map: (filters, size) convolutions and "M" (2x2/2 max pool).
YOLOV2_BACKBONE = [
    (32, 3), "M", (64, 3), "M",
    (128, 3), (64, 1), (128, 3), "M",
    (256, 3), (128, 1), (256, 3), "M",
    (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
    (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3),
]  # fmt: skip


def yolov2_counts(
    hw: int = 416, classes: int = 80, anchors: int = 5, passthrough: int | None = 64
) -> tuple[int, int]:
    """Params and MACs of yolov2.cfg (``passthrough=None``: the 2.0 cfgs, no 1x1x64 conv)."""
    params = macs = 0

    def conv(cin: int, cout: int, k: int, size: int, bn: bool = True) -> int:
        nonlocal params, macs
        params += cin * cout * k * k + (2 * cout if bn else cout)  # BN scale+shift, or bias
        macs += cin * cout * k * k * size * size
        return cout

    c, size, fine = 3, hw, 0
    for item in YOLOV2_BACKBONE:
        if item == "M":
            if c == 512:  # the last 26x26x512 map, the passthrough's source
                fine = size
            size //= 2
        else:
            c = conv(c, item[0], item[1], size)
    c = conv(c, 1024, 3, size)
    c = conv(c, 1024, 3, size)  # route -9 goes back to the 26x26x512 layer
    reorg = conv(512, passthrough, 1, fine) if passthrough else 512
    c = conv(reorg * 4 + c, 1024, 3, size)  # reorg stride 2, route -1,-4
    conv(c, anchors * (classes + 5), 1, size, bn=False)
    return params, macs


def test_yolov2_formula_reproduces_darknet_figure() -> None:
    # Darknet prints 2 x MACs as BFLOPs; it publishes 62.94 Bn for YOLOv2 608x608.
    assert 2 * yolov2_counts(608)[1] / 1e9 == pytest.approx(62.94, abs=0.005)


# ---------------------------------------------------------------------------------------------
# Table figures: (params in M, MACs in G), from torchvision's documentation for the classifiers.

TABLE = {
    "googlenet": (6.62, 1.50),
    "inception_v3": (27.16, 5.71),
    "yolov2": (yolov2_counts()[0] / 1e6, yolov2_counts()[1] / 1e9),
}
OUTPUT = {"googlenet": (1, 1000), "inception_v3": (1, 1000), "yolov2": (1, 425, 13, 13)}


class Measured(NamedTuple):
    params: int
    macs: int
    shape: tuple[int, ...]


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _macs(model: nn.Module, x: torch.Tensor) -> tuple[int, torch.Tensor]:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(x)
    return counter.get_total_flops() // 2, out


@functools.cache
def measure(name: str) -> Measured:
    """Build the registered model, count its parameters, run one full-size forward."""
    torch.manual_seed(0)
    model = create_model(name)
    macs, out = _macs(model, torch.randn(1, *get_model_info(name).input_shape))
    assert torch.isfinite(out).all()
    return Measured(_params(model), macs, tuple(out.shape))


def meta_counts(factory: functools.partial[nn.Module], hw: int) -> tuple[int, int]:
    """Params and eval-mode MACs of ``factory()`` built and run on the meta device."""
    with torch.device("meta"):
        model = factory().eval()
        return _params(model), _macs(model, torch.empty(1, 3, hw, hw))[0]


@pytest.mark.parametrize("name", list(TABLE))
def test_params_match_table(name: str) -> None:
    assert measure(name).params / 1e6 == pytest.approx(TABLE[name][0], rel=0.01)


@pytest.mark.parametrize("name", list(TABLE))
def test_macs_match_table(name: str) -> None:
    assert measure(name).macs / 1e9 == pytest.approx(TABLE[name][1], rel=0.01)


@pytest.mark.parametrize("name", list(TABLE))
def test_output_shape(name: str) -> None:
    assert measure(name).shape == OUTPUT[name]


def test_exact_counts() -> None:
    """Exact torchvision figures and the exact closed form, not just within 1 %."""
    assert measure("googlenet").params == 6_624_904
    assert measure("inception_v3").params == 27_161_264
    assert (measure("yolov2").params, measure("yolov2").macs) == yolov2_counts()


@pytest.mark.parametrize(
    ("name", "family", "shape", "dataset"),
    [
        ("googlenet", "inception", (3, 224, 224), "imagenet"),
        ("inception_v3", "inception", (3, 299, 299), "imagenet"),
        ("yolov2", "yolo", (3, 416, 416), "coco"),
    ],
)
def test_registry_entry(name: str, family: str, shape: tuple[int, ...], dataset: str) -> None:
    info = get_model_info(name.upper())
    assert (info.name, info.family, info.input_shape, info.dataset) == (
        name,
        family,
        shape,
        dataset,
    )
    assert "params" in info.description and "GMACs" in info.description


# ---------------------------------------------------------------------------------------------
# Conventions: which heads count, and the paper layout of YOLOv2.


def test_inception_v3_table_figure_includes_idle_aux_head() -> None:
    with_aux = meta_counts(functools.partial(inception_v3), 299)
    without = meta_counts(functools.partial(inception_v3, aux_logits=False), 299)
    assert (with_aux[0], without[0]) == (27_161_264, 23_834_568)
    assert with_aux[1] == without[1]  # the head does not run at inference


def test_googlenet_aux_heads_are_optional_and_idle_at_inference() -> None:
    plain = meta_counts(functools.partial(googlenet), 224)
    with_aux = meta_counts(functools.partial(googlenet, aux_logits=True), 224)
    assert with_aux[0] == 13_004_888
    assert with_aux[1] == plain[1]


@pytest.mark.parametrize(
    ("factory", "hw", "outputs"),
    [
        (functools.partial(googlenet, aux_logits=True), 224, 3),
        (functools.partial(inception_v3), 299, 2),
    ],
)
def test_aux_heads_run_in_training(
    factory: functools.partial[nn.Module], hw: int, outputs: int
) -> None:
    with torch.device("meta"):
        out = factory().train()(torch.empty(2, 3, hw, hw))
    assert isinstance(out, tuple) and len(out) == outputs
    assert all(o.shape == (2, 1000) for o in out)


def test_yolov2_paper_layout_matches_seed_paper() -> None:
    # The seed paper's 67.4 M weights and 17.51 G(MACs) at 416: passthrough without 1x1x64.
    params, macs = meta_counts(functools.partial(yolov2, passthrough=None), 416)
    assert (params, macs) == yolov2_counts(passthrough=None)
    assert params / 1e6 == pytest.approx(67.4, rel=0.01)
    assert macs / 1e9 == pytest.approx(17.51, rel=0.01)


def test_yolov2_scales_with_input_and_classes() -> None:
    params, macs = meta_counts(functools.partial(yolov2, num_classes=20), 608)
    assert (params, macs) == yolov2_counts(608, classes=20)
