"""Inception v3 (Szegedy et al., 2016), laid out as torchvision lays it out.

Conventions: input 3x299x299, 1000 classes, ``BasicConv2d`` everywhere (bias-free conv, BatchNorm
with eps 1e-3, ReLU), no ``transform_input`` rescaling. Torchvision's documented 27,161,264
parameters *include* the ``AuxLogits`` head (its pretrained model keeps ``aux_logits=True``):
the head (1x1 conv to 128, 5x5 conv to 768, linear 768 -> 1000) holds 3,326,696 parameters and
the network without it 23,834,568. So the registered model builds the head, to match that
figure, but, as in torchvision, runs it only in training mode: inference returns the main
logits alone and costs 5.71 GMACs (torchvision's documented 5.71 "GFLOPS" are MACs, excluding
the head). ``aux_logits=False`` leaves the head out. MACs count conv and linear
multiply-accumulates.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model
from cnnbench.models.googlenet import BasicConv2d


def _cat(*branches: torch.Tensor) -> torch.Tensor:
    return torch.cat(branches, 1)


class InceptionA(nn.Module):
    """35x35 block: 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg pool -> 1x1 (``pool_features``)."""

    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5 = nn.Sequential(BasicConv2d(cin, 48, 1), BasicConv2d(48, 64, 5, padding=2))
        self.branch3x3dbl = nn.Sequential(
            BasicConv2d(cin, 64, 1),
            BasicConv2d(64, 96, 3, padding=1),
            BasicConv2d(96, 96, 3, padding=1),
        )
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return _cat(self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x), pool)


class InceptionB(nn.Module):
    """Grid reduction 35 -> 17: 3x3/2; 1x1 -> 3x3 -> 3x3/2; max pool/2."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl = nn.Sequential(
            BasicConv2d(cin, 64, 1),
            BasicConv2d(64, 96, 3, padding=1),
            BasicConv2d(96, 96, 3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d(x, 3, stride=2)
        return _cat(self.branch3x3(x), self.branch3x3dbl(x), pool)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (1x7 then 7x1) of width ``c7``."""

    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7 = nn.Sequential(
            BasicConv2d(cin, c7, 1),
            BasicConv2d(c7, c7, (1, 7), padding=(0, 3)),
            BasicConv2d(c7, 192, (7, 1), padding=(3, 0)),
        )
        self.branch7x7dbl = nn.Sequential(
            BasicConv2d(cin, c7, 1),
            BasicConv2d(c7, c7, (7, 1), padding=(3, 0)),
            BasicConv2d(c7, c7, (1, 7), padding=(0, 3)),
            BasicConv2d(c7, c7, (7, 1), padding=(3, 0)),
            BasicConv2d(c7, 192, (1, 7), padding=(0, 3)),
        )
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return _cat(self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x), pool)


class InceptionD(nn.Module):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2; 1x1 -> 1x7 -> 7x1 -> 3x3/2; max pool/2."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = nn.Sequential(BasicConv2d(cin, 192, 1), BasicConv2d(192, 320, 3, stride=2))
        self.branch7x7x3 = nn.Sequential(
            BasicConv2d(cin, 192, 1),
            BasicConv2d(192, 192, (1, 7), padding=(0, 3)),
            BasicConv2d(192, 192, (7, 1), padding=(3, 0)),
            BasicConv2d(192, 192, 3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.max_pool2d(x, 3, stride=2)
        return _cat(self.branch3x3(x), self.branch7x7x3(x), pool)


class InceptionE(nn.Module):
    """8x8 block with expanded filter banks: 3x3 outputs split into parallel 1x3 and 3x1."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = nn.Sequential(
            BasicConv2d(cin, 448, 1), BasicConv2d(448, 384, 3, padding=1)
        )
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_1(x)
        pool = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return _cat(
            self.branch1x1(x),
            self.branch3x3_2a(a),
            self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b),
            self.branch3x3dbl_3b(b),
            pool,
        )


class InceptionAux(nn.Module):
    """Auxiliary classifier on the 17x17x768 map: 5x5/3 avg pool, 1x1 -> 128, 5x5 -> 768, fc."""

    def __init__(self, cin: int, num_classes: int):
        super().__init__()
        self.conv0 = BasicConv2d(cin, 128, 1)
        self.conv1 = BasicConv2d(128, 768, 5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(F.avg_pool2d(x, 5, stride=3)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InceptionV3(nn.Module):
    """Stem to 35x35x192, Mixed_5b-5d (A), 6a (B), 6b-6e (C), 7a (D), 7b-7c (E), classifier."""

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, dropout: float = 0.5):
        super().__init__()
        self.stem = nn.Sequential(
            BasicConv2d(3, 32, 3, stride=2),
            BasicConv2d(32, 32, 3),
            BasicConv2d(32, 64, 3, padding=1),
            nn.MaxPool2d(3, stride=2),
            BasicConv2d(64, 80, 1),
            BasicConv2d(80, 192, 3),
            nn.MaxPool2d(3, stride=2),
        )
        self.mixed_5_6 = nn.Sequential(
            InceptionA(192, 32),
            InceptionA(256, 64),
            InceptionA(288, 64),
            InceptionB(288),
            InceptionC(768, 128),
            InceptionC(768, 160),
            InceptionC(768, 160),
            InceptionC(768, 192),
        )
        self.aux = InceptionAux(768, num_classes) if aux_logits else None
        self.mixed_7 = nn.Sequential(InceptionD(768), InceptionE(1280), InceptionE(2048))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2048, num_classes))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = self.mixed_5_6(self.stem(x))
        aux = self.aux(x) if self.training and self.aux is not None else None
        x = self.mixed_7(x)
        logits = self.classifier(torch.flatten(self.pool(x), 1))
        return logits if aux is None else (logits, aux)


@register_model("inception_v3", family="inception", input_shape=(3, 299, 299))
def inception_v3(num_classes: int = 1000, aux_logits: bool = True) -> nn.Module:
    """Inception v3: 27.16 M params (with the idle aux head), 5.71 GMACs at 299."""
    return InceptionV3(num_classes, aux_logits)
