"""VGG (Simonyan & Zisserman, 2015), configurations D (VGG-16) and E (VGG-19).

Conventions: torchvision's layout without batch normalisation: 3x3 convolutions with padding 1
and biases, 2x2 max pools, adaptive average pooling to 7x7, then 4096, dropout, 4096, dropout,
1000. Input 3x224x224, 1000 classes. Parameters equal torchvision's documented figures
(vgg16 138,357,544; vgg19 143,667,240); MACs count conv and linear multiply-accumulates
(15.47 G and 19.63 G at 224; torchvision's docs call these "GFLOPS", twice that is FLOPs).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model

# Output channels of each 3x3 convolution; "M" is a 2x2 max pool (the paper's Table 1).
CONFIGS: dict[str, tuple[int | str, ...]] = {
    "D": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "E": (
        *(64, 64, "M", 128, 128, "M"),
        *(256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"),
    ),
}


def make_features(config: tuple[int | str, ...], batch_norm: bool = False) -> nn.Sequential:
    """The convolutional trunk for a VGG configuration."""
    layers: list[nn.Module] = []
    cin = 3
    for item in config:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        cout = int(item)
        layers.append(nn.Conv2d(cin, cout, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(cout))
        layers.append(nn.ReLU(inplace=True))
        cin = cout
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG trunk, adaptive 7x7 pooling and the three-layer classifier."""

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("vgg16", family="vgg")
def vgg16(num_classes: int = 1000) -> nn.Module:
    """VGG-16 (configuration D, no BN): 138.36 M params, 15.47 GMACs at 224."""
    return VGG(make_features(CONFIGS["D"]), num_classes)


@register_model("vgg19", family="vgg")
def vgg19(num_classes: int = 1000) -> nn.Module:
    """VGG-19 (configuration E, no BN): 143.67 M params, 19.63 GMACs at 224."""
    return VGG(make_features(CONFIGS["E"]), num_classes)
