"""AlexNet (Krizhevsky et al., 2012), laid out as torchvision lays it out.

Conventions: input 3x224x224, 1000 classes, the single-tower "one weird trick" variant
(Krizhevsky, 2014) that torchvision ships: convolutions of 64, 192, 384, 256 and 256 filters,
adaptive average pooling to 6x6, then dropout, 4096, dropout, 4096, 1000. That gives
61,100,840 parameters (torchvision's documented figure) and 0.71 GMACs (conv + linear
multiply-accumulates) at 224.

Other published figures use other conventions. The original two-GPU paper network (96, 256,
384, 384, 256 filters, grouped conv2/4/5, local response normalisation) takes 227x227 input and
is usually quoted as ~61 M weights and ~0.72 GMACs (Sze et al., 2017: 724 M MACs); the seed
study of this project lists AlexNet at 227 with 0.62 GFLOPs and 60.1 M weights. "GFLOPs" in such
tables, and in torchvision's own docs, usually means multiply-accumulates; a count of
floating-point operations is twice the MACs. We target torchvision's 224 figures above.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model


class AlexNet(nn.Module):
    """Five convolutions with three max pools, adaptive 6x6 pooling, three linear layers."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
        )
        self.pool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


@register_model("alexnet", family="alexnet")
def alexnet(num_classes: int = 1000) -> nn.Module:
    """AlexNet (torchvision layout): 61.10 M params, 0.71 GMACs at 224."""
    return AlexNet(num_classes)
