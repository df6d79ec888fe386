"""GoogLeNet / Inception v1 (Szegedy et al., 2015), laid out as torchvision lays it out.

Conventions: input 3x224x224, 1000 classes, every convolution is a ``BasicConv2d`` (bias-free conv,
BatchNorm with eps 1e-3, ReLU), max pools with ``ceil_mode=True``. As in torchvision, the
"5x5" branch of each inception block uses a 3x3 convolution (torchvision issue 906), so the
counts equal torchvision's documented figures: 6,624,904 parameters and 1.50 GMACs *without*
the two auxiliary classifiers, which torchvision drops from its inference model. Building them
(``aux_logits=True``) adds 6,379,984 parameters (13,004,888 in all); they run only in training
mode, so they never change the inference cost. MACs count conv and linear multiply-accumulates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model


class BasicConv2d(nn.Sequential):
    """Bias-free convolution, BatchNorm (eps 1e-3), ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int | tuple[int, int],
        stride: int = 1,
        padding: int | tuple[int, int] = 0,
    ):
        super().__init__(
            nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(cout, eps=0.001),
            nn.ReLU(inplace=True),
        )


class Inception(nn.Module):
    """Four parallel branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3 (the "5x5"); 3x3 max pool -> 1x1."""

    def __init__(
        self,
        cin: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
    ):
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1x1, 1)
        self.branch2 = nn.Sequential(
            BasicConv2d(cin, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1)
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(cin, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, padding=1)
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), BasicConv2d(cin, pool_proj, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pool, 1x1 conv to 128, two linear layers."""

    def __init__(self, cin: int, num_classes: int):
        super().__init__()
        self.conv = BasicConv2d(cin, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
        x = F.dropout(x, 0.7, training=self.training)
        return self.fc2(x)


class GoogLeNet(nn.Module):
    """Stem, inception blocks 3a-5b with max pools between stages, global pool, classifier."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, dropout: float = 0.2):
        super().__init__()
        self.stem = nn.Sequential(
            BasicConv2d(3, 64, 7, stride=2, padding=3),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            BasicConv2d(64, 64, 1),
            BasicConv2d(64, 192, 3, padding=1),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
        )
        self.stage3 = nn.Sequential(
            Inception(192, 64, 96, 128, 16, 32, 32),
            Inception(256, 128, 128, 192, 32, 96, 64),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
        )
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.stage4 = nn.Sequential(
            Inception(512, 160, 112, 224, 24, 64, 64),
            Inception(512, 128, 128, 256, 24, 64, 64),
            Inception(512, 112, 144, 288, 32, 64, 64),
        )
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.stage5 = nn.Sequential(
            nn.MaxPool2d(2, stride=2, ceil_mode=True),
            Inception(832, 256, 160, 320, 32, 128, 128),
            Inception(832, 384, 192, 384, 48, 128, 128),
        )
        self.aux1 = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes) if aux_logits else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1024, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.inception4a(self.stage3(self.stem(x)))
        aux1 = self.aux1(x) if self.training and self.aux1 is not None else None
        x = self.stage4(x)
        aux2 = self.aux2(x) if self.training and self.aux2 is not None else None
        x = self.stage5(self.inception4e(x))
        logits = self.classifier(torch.flatten(self.pool(x), 1))
        if aux1 is not None and aux2 is not None:
            return logits, aux2, aux1
        return logits


@register_model("googlenet", family="inception")
def googlenet(num_classes: int = 1000, aux_logits: bool = False) -> nn.Module:
    """GoogLeNet (Inception v1, BN): 6.62 M params, 1.50 GMACs at 224 (no aux heads)."""
    return GoogLeNet(num_classes, aux_logits)
