"""Tiny networks for tests: calls of tens of microseconds, every common layer type."""

from __future__ import annotations

from torch import nn

from cnnbench.models._registry import register_model


@register_model("tinynet", family="tiny", input_shape=(3, 32, 32), dataset="synthetic")
def tinynet(num_classes: int = 10, width: int = 8) -> nn.Module:
    """Two conv-BN-ReLU blocks (width 8), a depthwise conv, global pooling and a classifier."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, 2 * width, 1, bias=False),
        nn.BatchNorm2d(2 * width),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, num_classes),
    )
