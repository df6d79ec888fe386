"""YOLOv2 (Redmon & Farhadi, 2017), built from Darknet's ``cfg/yolov2.cfg`` (the COCO model).

Conventions: input 3x416x416, output the raw region-layer tensor 5 x (80 + 5) = 425 channels on
the 13x13 grid (decoding and NMS are not part of the network). Every convolution except the last
is bias-free + BatchNorm + leaky ReLU (slope 0.1), "same" padding; max pools are 2x2/2. Layout:
the Darknet-19 backbone convolutions (classifier head removed), two 3x3x1024 convolutions, a
passthrough from the last 26x26x512 map through a 1x1x64 convolution and a stride-2 reorg
(space-to-depth, 64 -> 256 channels at 13x13) concatenated *before* the 1024 main channels,
a 3x3x1024 convolution and a linear 1x1 convolution with bias to 425 channels.

Counts of this network (conv weights, BN scale/shift and the final bias): 50,962,889 parameters
(independent of input size) and 14.73 GMACs at 416 (conv multiply-accumulates). Darknet prints
its "BFLOPs" as 2 x MACs: 29.46 at 416 and 62.94 at 608, the latter being the figure the Darknet
project publishes for YOLOv2 608x608.

The seed paper's 67.4 M weights and 17.51 GFLOPs at 416 describe the earlier layout of the
YOLO9000 paper and of Darknet's ``yolo-voc.2.0.cfg``: there the passthrough reorganises
the 26x26x512 map itself into 13x13x2048 (no 1x1x64 convolution), so the fused 3x3x1024
convolution sees 3072 channels. With ``passthrough=None`` this module builds that layout:
67,445,065 parameters and 17.50 GMACs at 416, so the paper's "GFLOPs" are multiply-accumulates.

The reorg is ``F.pixel_unshuffle`` (channel ``c * 4 + dy * 2 + dx``). Darknet's ``reorg`` layer
orders the 256 channels differently; shapes and costs are identical, and loading Darknet weights
would only need a permutation of the input channels of the 3x3x1024 convolution after the concat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnbench.models._registry import register_model

# Darknet-19 convolutions up to the 13x13x1024 map: (filters, size); "M" is a 2x2/2 max pool.
DARKNET19 = (
    (32, 3), "M",
    (64, 3), "M",
    (128, 3), (64, 1), (128, 3), "M",
    (256, 3), (128, 1), (256, 3), "M",
    (512, 3), (256, 1), (512, 3), (256, 1), (512, 3), "M",
    (1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3),
)  # fmt: skip


def conv_bn_leaky(cin: int, cout: int, k: int) -> nn.Sequential:
    """Darknet ``[convolutional]`` with ``batch_normalize=1``, ``pad=1``, ``activation=leaky``."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.1, inplace=True),
    )


class YOLOv2(nn.Module):
    """Darknet-19 backbone, 3x3 detection convolutions with a reorg passthrough, 1x1 output."""

    def __init__(self, num_classes: int = 80, num_anchors: int = 5, passthrough: int | None = 64):
        super().__init__()
        layers: list[nn.Module] = []
        cin, split = 3, 0
        for item in DARKNET19:
            if isinstance(item, str):
                split = len(layers)  # ends at the fifth pool: the passthrough leaves before it
                layers.append(nn.MaxPool2d(2, 2))
            else:
                cout, k = item
                layers.append(conv_bn_leaky(cin, cout, k))
                cin = cout
        self.backbone26 = nn.Sequential(*layers[:split])
        self.backbone13 = nn.Sequential(*layers[split:])
        self.head = nn.Sequential(conv_bn_leaky(1024, 1024, 3), conv_bn_leaky(1024, 1024, 3))
        self.passthrough = conv_bn_leaky(512, passthrough, 1) if passthrough else nn.Identity()
        self.fuse = conv_bn_leaky((passthrough or 512) * 4 + 1024, 1024, 3)
        self.out = nn.Conv2d(1024, num_anchors * (num_classes + 5), 1)
        _init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fine = self.backbone26(x)
        coarse = self.head(self.backbone13(fine))
        reorg = F.pixel_unshuffle(self.passthrough(fine), 2)
        return self.out(self.fuse(torch.cat((reorg, coarse), 1)))


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, a=0.1, mode="fan_out", nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@register_model("yolov2", family="yolo", input_shape=(3, 416, 416), dataset="coco")
def yolov2(num_classes: int = 80, num_anchors: int = 5, passthrough: int | None = 64) -> nn.Module:
    """YOLOv2 (COCO, Darknet yolov2.cfg): 50.96 M params, 14.73 GMACs at 416.

    ``passthrough=None`` gives the paper's / ``yolo-voc.2.0.cfg`` layout (67.45 M, 17.50 GMACs).
    """
    return YOLOv2(num_classes, num_anchors, passthrough)
