"""SqueezeNet (Iandola et al., 2016), versions 1.0 and 1.1, laid out as torchvision lays them out.

Conventions: input 3x224x224, 1000 classes; max pools use ``ceil_mode`` (Caffe's rounding, as
torchvision); the classifier is dropout, a 1x1 convolution to the classes, ReLU and global
average pooling. Parameters equal torchvision's documented figures (squeezenet1_0 1,248,424;
squeezenet1_1 1,235,496); MACs count conv multiply-accumulates (0.82 G and 0.35 G at 224;
torchvision's docs call these "GFLOPS"). The reference Caffe models take 227x227 crops, which
give slightly higher counts.
Version 1.1 (the SqueezeNet repository's v1.1) moves the pools earlier and uses a 3x3/64 stem,
for 2.4x fewer MACs at the same accuracy.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model


class Fire(nn.Module):
    """A 1x1 squeeze layer feeding parallel 1x1 and 3x3 expand layers, concatenated."""

    def __init__(self, cin: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU(inplace=True))
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, expand1x1, 1), nn.ReLU(inplace=True))
        self.expand3x3 = nn.Sequential(
            nn.Conv2d(squeeze, expand3x3, 3, padding=1), nn.ReLU(inplace=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], 1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(3, 2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0 or 1.1: stem, eight fire modules, 1x1 conv classifier, global pool."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        relu = nn.ReLU
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 7, stride=2),
                relu(inplace=True),
                _pool(),
                Fire(96, 16, 64, 64),
                Fire(128, 16, 64, 64),
                Fire(128, 32, 128, 128),
                _pool(),
                Fire(256, 32, 128, 128),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                _pool(),
                Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 3, stride=2),
                relu(inplace=True),
                _pool(),
                Fire(64, 16, 64, 64),
                Fire(128, 16, 64, 64),
                _pool(),
                Fire(128, 32, 128, 128),
                Fire(256, 32, 128, 128),
                _pool(),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"unknown SqueezeNet version {version!r}; expected '1_0' or '1_1'")
        final = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), final, relu(inplace=True), nn.AdaptiveAvgPool2d(1)
        )
        init_weights(self)
        # The classifier convolution starts small, as in the reference implementation.
        nn.init.normal_(final.weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


@register_model("squeezenet1_0", family="squeezenet")
def squeezenet1_0(num_classes: int = 1000) -> nn.Module:
    """SqueezeNet 1.0: 1.25 M params, 0.82 GMACs at 224."""
    return SqueezeNet("1_0", num_classes)


@register_model("squeezenet1_1", family="squeezenet")
def squeezenet1_1(num_classes: int = 1000) -> nn.Module:
    """SqueezeNet 1.1: 1.24 M params, 0.35 GMACs at 224."""
    return SqueezeNet("1_1", num_classes)
