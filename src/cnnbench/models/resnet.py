"""ResNet (He et al., 2016) and ResNeXt (Xie et al., 2017), laid out as torchvision lays them out.

Conventions: input 3x224x224, 1000 classes, stride on the 3x3 convolution of a bottleneck
("ResNet v1.5", as torchvision), so the parameter counts equal torchvision's documented figures
(resnet18 11,689,512; resnet50 25,557,032). MACs count conv and linear multiply-accumulates.
ResNeXt uses the same bottleneck with a grouped 3x3 convolution of ``groups * width_per_group *
planes / 64`` channels (resnext50_32x4d 25,028,904 params, 4.23 GMACs; resnext101_32x8d
88,791,336 params, 16.41 GMACs at 224, torchvision's figures).

``resnet101_cifar`` is ResNet-101 adapted to CIFAR-10, the network of the Cambricon
ResNet101/CIFAR-10 study: input 3x32x32, a 3x3 stride-1 stem convolution of 64 channels with
BatchNorm and ReLU and no max pool, then the four ImageNet bottleneck stages [3, 4, 23, 3]
(64, 128, 256, 512 planes; stride 1, 2, 2, 2, so maps of 32, 16, 8, 4), global average pooling
and a linear layer to 10 classes: 42,512,970 params and 2.51 GMACs at 32x32.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, groups: int = 1, base: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(cin, planes, 3, stride), nn.ReLU(inplace=True), *_conv_bn(planes, planes, 3)
        )
        self.shortcut = (
            nn.Sequential(*_conv_bn(cin, planes, 1, stride))
            if stride != 1 or cin != planes
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, groups: int = 1, base: int = 64):
        super().__init__()
        width = int(planes * (base / 64.0)) * groups
        cout = planes * self.expansion
        self.body = nn.Sequential(
            *_conv_bn(cin, width, 1),
            nn.ReLU(inplace=True),
            *_conv_bn(width, width, 3, stride, groups),
            nn.ReLU(inplace=True),
            *_conv_bn(width, cout, 1),
        )
        self.shortcut = (
            nn.Sequential(*_conv_bn(cin, cout, 1, stride))
            if stride != 1 or cin != cout
            else nn.Identity()
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """ImageNet ResNet: 7x7 stem, max pool, four stages, global pool, linear classifier."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 1000,
        groups: int = 1,
        width_per_group: int = 64,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            *_conv_bn(3, 64, 7, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1)
        )
        stages: list[nn.Module] = []
        cin = 64
        for i, (planes, count) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            blocks: list[nn.Module] = []
            for j in range(count):
                stride = 2 if i > 0 and j == 0 else 1
                blocks.append(block(cin, planes, stride, groups, width_per_group))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stages(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


@register_model("resnet18", family="resnet")
def resnet18(num_classes: int = 1000) -> nn.Module:
    """ResNet-18: basic blocks [2, 2, 2, 2]; 11.69 M params, 1.81 GMACs at 224."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes)


@register_model("resnet34", family="resnet")
def resnet34(num_classes: int = 1000) -> nn.Module:
    """ResNet-34: basic blocks [3, 4, 6, 3]; 21.80 M params, 3.66 GMACs at 224."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes)


@register_model("resnet50", family="resnet")
def resnet50(num_classes: int = 1000) -> nn.Module:
    """ResNet-50 (v1.5): bottlenecks [3, 4, 6, 3]; 25.56 M params, 4.09 GMACs at 224."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes)


@register_model("resnet101", family="resnet")
def resnet101(num_classes: int = 1000) -> nn.Module:
    """ResNet-101 (v1.5): bottlenecks [3, 4, 23, 3]; 44.55 M params, 7.80 GMACs at 224."""
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes)


@register_model("resnet152", family="resnet")
def resnet152(num_classes: int = 1000) -> nn.Module:
    """ResNet-152 (v1.5): bottlenecks [3, 8, 36, 3]; 60.19 M params, 11.51 GMACs at 224."""
    return ResNet(Bottleneck, (3, 8, 36, 3), num_classes)


@register_model("resnext50_32x4d", family="resnet")
def resnext50_32x4d(num_classes: int = 1000) -> nn.Module:
    """ResNeXt-50 32x4d: bottlenecks [3, 4, 6, 3]; 25.03 M params, 4.23 GMACs at 224."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, groups=32, width_per_group=4)


@register_model("resnext101_32x8d", family="resnet")
def resnext101_32x8d(num_classes: int = 1000) -> nn.Module:
    """ResNeXt-101 32x8d: bottlenecks [3, 4, 23, 3]; 88.79 M params, 16.41 GMACs at 224."""
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes, groups=32, width_per_group=8)


class CifarResNet(ResNet):
    """A ResNet for 32x32 inputs: 3x3 stride-1 stem of 64 channels, no max pool."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        num_classes: int = 10,
    ):
        super().__init__(block, layers, num_classes)
        self.stem = nn.Sequential(*_conv_bn(3, 64, 3, 1), nn.ReLU(inplace=True))
        init_weights(self.stem)


@register_model("resnet101_cifar", family="resnet", input_shape=(3, 32, 32), dataset="cifar10")
def resnet101_cifar(num_classes: int = 10) -> nn.Module:
    """ResNet-101 for CIFAR-10 (3x3 stem, no max pool): 42.51 M params, 2.51 GMACs at 32."""
    return CifarResNet(Bottleneck, (3, 4, 23, 3), num_classes)
