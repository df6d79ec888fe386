"""NASNet-A (Zoph et al., 2018), laid out as TF-slim's ``nets/nasnet`` (and Cadene's PyTorch port).

Conventions: a VALID 3x3 stride-2 stem convolution, two reduction "stem" cells at 1/4 and 1/2 of
the filters, then three stacks of N normal cells separated by two reduction cells (filters doubled
at each); ReLU, global average pooling, dropout and a 1000-way linear classifier (TF's 1001st
"background" class is dropped). Cells follow slim's ``NasNetABaseCell``: the current input goes
through ReLU-1x1-BN, the previous one is matched to it by a factorized reduction (other resolution)
or ReLU-1x1-BN (other width); each separable op is two stacked (ReLU, depthwise, pointwise, BN)
whose first layer carries the stride; BatchNorm eps 1e-3, no conv biases. Padding is TF "SAME"
(asymmetric on stride-2 layers over even sizes), so Cadene's pad-compute-crop workaround and its
extra row and column of MACs are not reproduced. The auxiliary head (training only) is not built and
drop path is off. Mobile wires the normal cell after a reduction to the reduction's input, Large
to the cell before it (slim's ``skip_reduction_layer_input``); the counts do not depend on this.

Counts (conv + linear MACs, batch 1):
- nasnet_a_mobile (4 @ 1056, 224): 5,289,978 parameters (paper 5.3 M, -0.19 %), 563.6 M MACs
  (paper 564 M, -0.06 %);
- nasnet_a_large (6 @ 4032, 331): 88,753,150 parameters (paper 88.9 M, -0.17 %), 23.78 G MACs
  (paper 23.8 G, -0.07 %).
The papers round; timm's model card for the Cadene port of Large lists 88.8 M params, 23.9 GMACs.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnbench.models._init import init_weights
from cnnbench.models._registry import register_model

BN_EPS = 1e-3


class CellSpec(NamedTuple):
    """A NASNet cell: (operation, hidden state) pairs, two per block; the states concatenated."""

    ops: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]


# slim nasnet_utils: hidden state 0 is the current input, 1 the previous one, 2.. the blocks.
NORMAL_CELL = CellSpec(
    ops=(
        ("separable_5x5", 0),
        ("separable_3x3", 1),
        ("separable_5x5", 1),
        ("separable_3x3", 1),
        ("avg_pool_3x3", 0),
        ("none", 1),
        ("avg_pool_3x3", 1),
        ("avg_pool_3x3", 1),
        ("separable_3x3", 0),
        ("none", 0),
    ),
    concat=(1, 2, 3, 4, 5, 6),
)
REDUCTION_CELL = CellSpec(
    ops=(
        ("separable_5x5", 0),
        ("separable_7x7", 1),
        ("max_pool_3x3", 0),
        ("separable_7x7", 1),
        ("avg_pool_3x3", 0),
        ("separable_5x5", 1),
        ("none", 3),
        ("avg_pool_3x3", 2),
        ("separable_3x3", 2),
        ("max_pool_3x3", 0),
    ),
    concat=(3, 4, 5, 6),
)


def same_padding(size: int, k: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF "SAME" padding (before, after) of one spatial dimension: output ``ceil(size/stride)``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A Conv2d padded as TF "SAME": symmetric padding in the conv, else an explicit zero pad."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(
            x.shape[-2], self.kernel_size[0], self.stride[0], self.dilation[0]
        )
        left, right = same_padding(
            x.shape[-1], self.kernel_size[1], self.stride[1], self.dilation[1]
        )
        if top == bottom and left == right:
            padding: tuple[int, int] = (top, left)
        else:
            x = F.pad(x, (left, right, top, bottom))
            padding = (0, 0)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class SamePool2d(nn.Module):
    """Max or average pooling with TF "SAME" padding, the padded cells left out.

    SAME pads at most one more cell after than before, which is PyTorch's ``ceil_mode`` with the
    "before" padding; average pooling divides by the valid cells, as TF does.
    """

    def __init__(self, kind: str, k: int, stride: int):
        super().__init__()
        if kind not in ("max", "avg"):
            raise ValueError(f"unknown pooling {kind!r}")
        self.kind, self.k, self.stride = kind, k, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = (
            same_padding(x.shape[-2], self.k, self.stride)[0],
            same_padding(x.shape[-1], self.k, self.stride)[0],
        )
        if self.kind == "max":
            return F.max_pool2d(x, self.k, self.stride, padding, ceil_mode=True)
        return F.avg_pool2d(
            x, self.k, self.stride, padding, ceil_mode=True, count_include_pad=False
        )


def relu_conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.ReLU(), nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=BN_EPS)
    )


def separable_stack(cin: int, cout: int, k: int, stride: int, layers: int = 2) -> nn.Sequential:
    """slim ``_stacked_separable_conv``: ``layers`` x (ReLU, depthwise kxk, pointwise, BN)."""
    modules: list[nn.Module] = []
    for i in range(layers):
        c = cin if i == 0 else cout
        modules += [
            nn.ReLU(),
            SameConv2d(c, c, k, stride if i == 0 else 1, groups=c, bias=False),
            nn.Conv2d(c, cout, 1, bias=False),
            nn.BatchNorm2d(cout, eps=BN_EPS),
        ]
    return nn.Sequential(*modules)


class FactorizedReduction(nn.Module):
    """slim ``factorized_reduction``: ReLU, then 1x1 stride-2 convs of the input and of the input
    shifted by one pixel (zero padded at the far edge), concatenated and batch-normalised."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.relu = nn.ReLU()
        self.path_1 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.path_2 = nn.Conv2d(cin, cout - cout // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.path_1(x), self.path_2(shifted)], dim=1))


def make_op(name: str, cin: int, filters: int, stride: int) -> nn.Module:
    """slim ``_apply_conv_operation`` for one hidden state of ``cin`` channels."""
    if name.startswith("separable_"):
        return separable_stack(cin, filters, int(name[-1]), stride)
    if name == "none":
        if stride == 1 and cin == filters:
            return nn.Identity()
        return relu_conv_bn(cin, filters, stride)
    if name in ("avg_pool_3x3", "max_pool_3x3"):
        pool = SamePool2d(name[:3], 3, stride)
        if cin == filters:
            return pool
        return nn.Sequential(
            pool, nn.Conv2d(cin, filters, 1, bias=False), nn.BatchNorm2d(filters, eps=BN_EPS)
        )
    raise ValueError(f"unknown NASNet operation {name!r}")


class Cell(nn.Module):
    """One NASNet-A cell of ``filters`` channels per state.

    ``current`` and ``previous`` are the (channels, resolution level) of the two inputs; a
    ``previous`` of None (the first stem cell) feeds the raw current input as hidden state 1.
    """

    def __init__(
        self,
        spec: CellSpec,
        current: tuple[int, int],
        previous: tuple[int, int] | None,
        filters: int,
        stride: int,
    ):
        super().__init__()
        self.base = relu_conv_bn(current[0], filters)
        prev_channels = filters
        if previous is None:
            self.adjust: nn.Module = nn.Identity()
            prev_channels = current[0]
        elif previous[1] != current[1]:
            self.adjust = FactorizedReduction(previous[0], filters)
        elif previous[0] != filters:
            self.adjust = relu_conv_bn(previous[0], filters)
        else:
            self.adjust = nn.Identity()
        channels = [filters, prev_channels]
        ops: list[nn.Module] = []
        for i, (name, state) in enumerate(spec.ops):
            ops.append(make_op(name, channels[state], filters, stride if state < 2 else 1))
            if i % 2:
                channels.append(filters)
        if any(channels[i] != filters for i in spec.concat):
            raise ValueError("a concatenated state does not have the cell's width")
        self.ops = nn.ModuleList(ops)
        self.states = tuple(state for _, state in spec.ops)
        self.concat = spec.concat
        self.out_channels = len(spec.concat) * filters

    def forward(self, x: torch.Tensor, prev: torch.Tensor | None) -> torch.Tensor:
        states = [self.base(x), self.adjust(x if prev is None else prev)]
        for i in range(0, len(self.ops), 2):
            a = self.ops[i](states[self.states[i]])
            b = self.ops[i + 1](states[self.states[i + 1]])
            states.append(a + b)
        return torch.cat([states[i] for i in self.concat], dim=1)


class NASNetA(nn.Module):
    """NASNet-A "N @ P": N normal cells per stack, P penultimate filters (24 x ``filters``)."""

    def __init__(
        self,
        cells_per_stack: int,
        penultimate_filters: int,
        stem_filters: int,
        skip_reduction_layer_input: bool,
        num_classes: int = 1000,
        dropout: float = 0.5,
    ):
        super().__init__()
        filters = penultimate_filters // 24
        self.conv0 = nn.Sequential(
            nn.Conv2d(3, stem_filters, 3, stride=2, bias=False),
            nn.BatchNorm2d(stem_filters, eps=BN_EPS),
        )
        # (channels, resolution level) of the outputs so far; None stands for "no previous input".
        shapes: list[tuple[int, int] | None] = [None, (stem_filters, 0)]
        cells: list[Cell] = []
        prev_offsets: list[int] = []  # which earlier output (-2 or -3) each cell takes as previous

        def add(spec: CellSpec, width: int, stride: int, offset: int = -2) -> None:
            current = shapes[-1]
            assert current is not None
            cell = Cell(spec, current, shapes[offset], width, stride)
            cells.append(cell)
            prev_offsets.append(offset)
            shapes.append((cell.out_channels, current[1] + (stride == 2)))

        add(REDUCTION_CELL, filters // 4, 2)  # cell_stem_0
        add(REDUCTION_CELL, filters // 2, 2)  # cell_stem_1
        width = filters
        for stack in range(3):
            if stack > 0:
                width *= 2
                add(REDUCTION_CELL, width, 2)
            for i in range(cells_per_stack):
                after_reduction = stack > 0 and i == 0
                add(
                    NORMAL_CELL,
                    width,
                    1,
                    -3 if after_reduction and skip_reduction_layer_input else -2,
                )
        self.cells = nn.ModuleList(cells)
        self.prev_offsets = tuple(prev_offsets)
        last = shapes[-1]
        assert last is not None
        self.head = nn.Sequential(
            nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout)
        )
        self.classifier = nn.Linear(last[0], num_classes)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor | None] = [None, self.conv0(x)]
        for cell, offset in zip(self.cells, self.prev_offsets, strict=True):
            current = outputs[-1]
            assert current is not None
            outputs = [*outputs[-2:], cell(current, outputs[offset])]
        last = outputs[-1]
        assert last is not None
        return self.classifier(self.head(last))


@register_model("nasnet_a_mobile", family="nas", input_shape=(3, 224, 224), dataset="imagenet")
def nasnet_a_mobile(num_classes: int = 1000) -> nn.Module:
    """NASNet-A Mobile (4 @ 1056): 5.29 M params, 0.564 GMACs at 224."""
    return NASNetA(
        4, 1056, stem_filters=32, skip_reduction_layer_input=False, num_classes=num_classes
    )


@register_model("nasnet_a_large", family="nas", input_shape=(3, 331, 331), dataset="imagenet")
def nasnet_a_large(num_classes: int = 1000) -> nn.Module:
    """NASNet-A Large (6 @ 4032): 88.75 M params, 23.78 GMACs at 331."""
    return NASNetA(
        6, 4032, stem_filters=96, skip_reduction_layer_input=True, num_classes=num_classes
    )
