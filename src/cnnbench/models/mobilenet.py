"""MobileNetV2 (Sandler et al., 2018), laid out as torchvision lays it out, and MobileNetV1.

Conventions: width multiplier 1.0, input 3x224x224, 1000 classes, ReLU6, channel counts rounded
to multiples of 8; 3,504,872 parameters (torchvision's documented figure), 0.30 GMACs.

MobileNetV1 (Howard et al., 2017) follows the paper's Table 1 as the TF-Slim reference lays it
out: a 3x3/2 stem of 32 channels, thirteen depthwise-separable blocks (3x3 depthwise then 1x1
pointwise, each with BatchNorm and ReLU6), global average pooling and a 1024-to-1000 classifier;
4,231,976 parameters (the paper: 4.2 M) and 0.57 GMACs (the paper: 569 M mult-adds) at 224.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model


def make_divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn_act(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expand, 3x3 depthwise, 1x1 linear projection; residual when shapes agree."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(conv_bn_act(cin, hidden, 1))
        layers += [
            conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


# (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
V2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2):
        super().__init__()
        cin = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers: list[nn.Module] = [conv_bn_act(3, cin, 3, 2)]
        for t, c, n, s in V2_SETTINGS:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_bn_act(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("mobilenet_v2", family="mobilenet")
def mobilenet_v2(num_classes: int = 1000, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV2 1.0: 3.50 M params, 0.30 GMACs at 224."""
    return MobileNetV2(num_classes, width_mult)


# (output channels, stride) of the depthwise-separable blocks, from the paper's Table 1.
V1_SETTINGS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    *((512, 1),) * 5,
    (1024, 2),
    (1024, 1),
)


class MobileNetV1(nn.Module):
    """MobileNetV1: 3x3 stem, depthwise-separable blocks, global pool, linear classifier."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.0):
        super().__init__()
        cin = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [conv_bn_act(3, cin, 3, 2)]
        for c, s in V1_SETTINGS:
            cout = make_divisible(c * width_mult)
            layers.append(
                nn.Sequential(conv_bn_act(cin, cin, 3, s, groups=cin), conv_bn_act(cin, cout, 1))
            )
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(cin, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("mobilenet_v1", family="mobilenet")
def mobilenet_v1(num_classes: int = 1000, width_mult: float = 1.0) -> nn.Module:
    """MobileNetV1 1.0: 4.23 M params, 0.57 GMACs at 224."""
    return MobileNetV1(num_classes, width_mult)
