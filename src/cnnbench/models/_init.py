"""The zoo's one weight initialiser (every family and the design patterns use it)."""

from __future__ import annotations

from typing import Literal

from torch import nn


def init_weights(module: nn.Module, mode: Literal["fan_in", "fan_out"] = "fan_out") -> None:
    """He-normal convolutions, unit BatchNorm, small normal classifier (torchvision's scheme;
    ``mode="fan_in"`` keeps activations from shrinking through very deep plain stacks)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
