"""Network in Network (Lin, Chen & Yan, ICLR 2014), the ImageNet model.

Conventions: the layer table of the authors' released Caffe model "NIN-ImageNet" (Caffe Model
Zoo, gist mavenlin/d802a5849de39225bcc6): four mlpconv blocks, each a spatial convolution
followed by two 1x1 convolutions ("cccp" layers), all with biases and ReLU:

    conv1 11x11/4 96 (no padding), cccp1 96, cccp2 96, max pool 3x3/2
    conv2 5x5 256 (pad 2),         cccp3 256, cccp4 256, max pool 3x3/2
    conv3 3x3 384 (pad 1),         cccp5 384, cccp6 384, max pool 3x3/2, dropout 0.5
    conv4 3x3 1024 (pad 1),        cccp7 1024, cccp8 1000, global average pool (6x6 at 224)

Input 3x224x224 (the model's crop size), 1000 classes, no fully connected layer. Max pools use
``ceil_mode`` (Caffe's rounding), giving feature maps of 54, 27, 13 and 6. We target the figures
that this table gives (computed by formula in tests/models/test_zoo_classic.py): 7,595,176
parameters (the released caffemodel is 29 MiB of float32, i.e. 7.6 M weights) and 1.10 GMACs
(conv multiply-accumulates; 2.2 GFLOPs). The paper itself gives no ImageNet parameter or MAC
figure. The global average pool is adaptive, so smaller inputs also run.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model

# One mlpconv block per row: (spatial kernel, stride, padding, channels of the three convs).
NIN_IMAGENET: tuple[tuple[int, int, int, tuple[int, int, int]], ...] = (
    (11, 4, 0, (96, 96, 96)),
    (5, 1, 2, (256, 256, 256)),
    (3, 1, 1, (384, 384, 384)),
    (3, 1, 1, (1024, 1024, 1000)),
)


def mlpconv(cin: int, k: int, stride: int, padding: int, widths: tuple[int, ...]) -> nn.Sequential:
    """A spatial convolution followed by 1x1 convolutions, each with ReLU."""
    layers: list[nn.Module] = []
    for i, cout in enumerate(widths):
        if i == 0:
            layers.append(nn.Conv2d(cin, cout, k, stride=stride, padding=padding))
        else:
            layers.append(nn.Conv2d(cin, cout, 1))
        layers.append(nn.ReLU(inplace=True))
        cin = cout
    return nn.Sequential(*layers)


class NIN(nn.Module):
    """Network in Network for ImageNet: four mlpconv blocks and global average pooling."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i, (k, stride, padding, widths) in enumerate(NIN_IMAGENET):
            last = i == len(NIN_IMAGENET) - 1
            outs = (*widths[:-1], num_classes) if last else widths
            layers.append(mlpconv(cin, k, stride, padding, outs))
            cin = outs[-1]
            if not last:
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            if i == len(NIN_IMAGENET) - 2:
                layers.append(nn.Dropout(dropout))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.features(x)), 1)


@register_model("nin", family="nin")
def nin(num_classes: int = 1000) -> nn.Module:
    """Network in Network (ImageNet, Caffe NIN-ImageNet): 7.60 M params, 1.10 GMACs at 224."""
    return NIN(num_classes)
