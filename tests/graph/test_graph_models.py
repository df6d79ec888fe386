"""Whole networks: conv + fc MACs agree with PyTorch's own FlopCounterMode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cnnbench.graph import model_cost
from cnnbench.graph.taxonomy import CONV_TYPES, FC
from cnnbench.models import create_model, get_model_info


def torch_macs(name: str, shape: tuple[int, ...]) -> int:
    module = create_model(name)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(shape))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", ["tinynet", "resnet18", "mobilenet_v2"])
def test_conv_and_fc_macs_match_flop_counter(shared_cache: Path, name: str) -> None:
    sample = get_model_info(name).input_shape
    cost = model_cost(name)
    ours = sum(t.macs for k, t in cost.by_type.items() if k in CONV_TYPES | {FC})
    reference = torch_macs(name, (1, *sample))
    assert ours == pytest.approx(reference, rel=0.01)
    assert cost.macs == ours  # only conv and fc layers have MACs
    assert cost.uncounted == ()
    assert cost.input_shape == (1, *sample)


def test_params_are_torch_params_with_batchnorm_folded(shared_cache: Path) -> None:
    module = create_model("tinynet")
    bn = [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    # each BatchNorm's weight and bias (2C) turns into the preceding conv's bias (C)
    expected = sum(p.numel() for p in module.parameters()) - sum(m.num_features for m in bn)
    assert model_cost("tinynet").params == expected


def test_batch_scales_macs_not_per_image(shared_cache: Path) -> None:
    one, four = model_cost("tinynet"), model_cost("tinynet", (3, 32, 32), batch=4)
    assert four.macs == 4 * one.macs and four.macs_per_image == one.macs
    assert four.params == one.params and four.batch == 4
    assert four.activation_bytes == 4 * one.activation_bytes
    assert four.flops_per_image == pytest.approx(one.flops)
