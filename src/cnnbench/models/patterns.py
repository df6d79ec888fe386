"""The six macro-architecture design patterns of seed 003 ("Does Form Follow Function?").

Seed 003 builds plain networks from one convolution pattern each, at depths 10 to 50 and widths
32 to 512, and times them. ``pattern(name, depth, width)`` builds one; the name
``pattern/NAME?depth=D&width=W`` does the same wherever a model name is accepted.

Layout (every pattern)::

    stem  conv 3x3 stride 2 (3 -> width), BN, ReLU; max pool 3x3 stride 2    224 -> 56
    body  ``depth`` convolutions of the pattern, ``width`` channels, stride 1  56 -> 56
    head  global average pool, linear (width -> classes)

* **depth** is the number of ``Conv2d`` layers of the body: the stem convolution and the head's
  linear layer are not counted. A pattern's block has ``k`` convolutions (1, 2 or 3, below).
  With ``depth = q*k + r``, the body is one partial block of the last ``r`` convolutions of a
  block, then ``q`` full blocks. The partial block's first convolution takes ``width`` input
  channels; every kept convolution keeps its kernel and output channels, except a depthwise one,
  whose output equals its input (so a partial depthwise bottleneck of two convolutions is
  MobileNetV2's expansion-1 block: 3x3 depthwise, 1x1 projection).
* **width** is the channel count of the body: the stem's output, the input and output of every
  block, and the head's input. Inside a block the bottleneck narrows it to ``width / 4``, the
  depthwise bottleneck widens it to ``6 * width``.
* **Resolution** falls by 4 in the stem only (stride-2 conv and stride-2 max pool, as ResNet's
  stem); the body keeps it, so every full block of a network costs the same and cost grows
  linearly with depth, which is the axis the seed sweeps.
* Every convolution is followed by BatchNorm and ReLU, the projection of the depthwise
  bottleneck included, and no block has a residual connection. (The seed names ReLU, not
  BatchNorm; conv-BN-ReLU is the unit of every network it cites.) This departs from MobileNetV2's
  linear bottleneck on purpose: the seed defines the patterns by their convolutions alone,
  compares them with everything else held equal, and attributes part of the acceleration to
  fusing each convolution with its ReLU (section 2.1), so every convolution gets the same
  fusible BN + ReLU tail and no pattern gets extra element-wise adds.
* Convolutions have no bias (BatchNorm follows). Weights are He-normal in fan-in mode, which
  keeps the activation scale of a plain stack in expectation (torchvision's fan-out mode
  shrinks it by the group count per depthwise or grouped layer, down to denormal values that
  would distort CPU timings). Random weights still drift: at depth 50 the body's output std
  stays within about 1e-4 to 1e1 for every pattern and width of the sweep (grouped at width 32
  drifts most, about x0.86 per layer), far from fp32 denormals and fp16 overflow.

Patterns, with ``w = width`` (``k`` convolutions per block):

==========================  ===  ======================================================
``standard``                 1   3x3 conv (w -> w)
``factorized``               2   1x3 conv, then 3x1 conv (w -> w), seed: "a 3x3 kernel can
                                 be broken into a 1x3 and 3x1 convolutions"
``bottleneck``               3   1x1 reduce (w -> w/4), 3x3 (w/4), 1x1 expand (w/4 -> w);
                                 reduction 4, ResNet's; width must be a multiple of 4
``depthwise_separable``      2   3x3 depthwise (w), 1x1 pointwise (w -> w), MobileNet's
``depthwise_bottleneck``     3   1x1 expand (w -> 6w), 3x3 depthwise (6w), 1x1 project
                                 (6w -> w); expansion 6, MobileNetV2's inverted residual
                                 without the residual
``grouped``                  1   3x3 grouped conv (w -> w), 4 channels per group, so
                                 ``w / 4`` groups; ResNeXt 32x4d's group width; width must
                                 be a multiple of 4
==========================  ===  ======================================================

Grouped convolution keeps a fixed group width rather than a fixed group count so that it never
degenerates into a depthwise convolution at the narrow end of the seed's sweep (32 groups at
width 32 would be one) and its cost grows linearly with width, the class the seed puts it in
together with the depthwise patterns.

Names: ``pattern/NAME[?KEY=VALUE[&KEY=VALUE]...]`` with keys ``depth`` (default 30), ``width``
(default 128), ``input`` (square input size, default 224) and ``classes`` (default 1000); the
defaults of depth and width are the centres of the seed's sweeps. ``,`` may stand for ``&`` and
``-`` for ``_`` in NAME; quote the name in a shell (``?``, ``&``). The canonical name (the one
hashed into a run's identity) is lower case, keys sorted, ``depth`` and ``width`` always
written, ``input`` and ``classes`` only when they differ from 224 and 1000:
``pattern/bottleneck?depth=30&width=128``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import torch
from torch import nn

from cnnbench.errors import BadInput
from cnnbench.models._init import init_weights
from cnnbench.models._query import parse_query

PREFIX = "pattern/"
PATTERNS = (
    "standard",
    "factorized",
    "bottleneck",
    "depthwise_separable",
    "depthwise_bottleneck",
    "grouped",
)
CONVS_PER_BLOCK = {
    "standard": 1,
    "factorized": 2,
    "bottleneck": 3,
    "depthwise_separable": 2,
    "depthwise_bottleneck": 3,
    "grouped": 1,
}
BOTTLENECK_REDUCTION = 4
EXPANSION = 6
GROUP_WIDTH = 4
DEFAULT_DEPTH = 30
DEFAULT_WIDTH = 128
DEFAULT_INPUT = 224
DEFAULT_CLASSES = 1000
QUERY_KEYS = ("classes", "depth", "input", "width")

_DESCRIPTIONS = {
    "standard": "3x3 conv",
    "factorized": "1x3 conv, 3x1 conv",
    "bottleneck": f"1x1 reduce /{BOTTLENECK_REDUCTION}, 3x3 conv, 1x1 expand",
    "depthwise_separable": "3x3 depthwise, 1x1 pointwise",
    "depthwise_bottleneck": f"1x1 expand x{EXPANSION}, 3x3 depthwise, 1x1 project",
    "grouped": f"3x3 grouped conv, {GROUP_WIDTH} channels per group",
}


def _check_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInput(f"design pattern {what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class PatternConfig:
    """One design-pattern network: pattern, body depth and width, input size, classes."""

    pattern: str
    depth: int = DEFAULT_DEPTH
    width: int = DEFAULT_WIDTH
    input: int = DEFAULT_INPUT
    classes: int = DEFAULT_CLASSES

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str):
            raise BadInput(f"a design pattern name must be a string, got {self.pattern!r}")
        key = self.pattern.strip().lower().replace("-", "_")
        if key not in CONVS_PER_BLOCK:
            close = difflib.get_close_matches(key, PATTERNS, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"one of {', '.join(PATTERNS)}"
            raise BadInput(f"unknown design pattern {self.pattern!r}; {hint}")
        object.__setattr__(self, "pattern", key)
        for what in ("depth", "width", "input", "classes"):
            _check_int(getattr(self, what), what)
        divisor = {"bottleneck": BOTTLENECK_REDUCTION, "grouped": GROUP_WIDTH}.get(key, 1)
        if self.width % divisor:
            why = "bottleneck reduction" if key == "bottleneck" else "channels per group"
            raise BadInput(
                f"design pattern {key}: width {self.width} must be a multiple of {divisor} "
                f"(the {why})"
            )

    @property
    def name(self) -> str:
        """The canonical model name: the same network always has the same name."""
        items = {"depth": self.depth, "width": self.width}
        if self.input != DEFAULT_INPUT:
            items["input"] = self.input
        if self.classes != DEFAULT_CLASSES:
            items["classes"] = self.classes
        query = "&".join(f"{k}={items[k]}" for k in sorted(items))
        return f"{PREFIX}{self.pattern}?{query}"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.input, self.input)

    @property
    def convs_per_block(self) -> int:
        return CONVS_PER_BLOCK[self.pattern]

    @property
    def groups(self) -> int:
        """Groups of the grouped pattern's convolution (1 for the other patterns)."""
        return self.width // GROUP_WIDTH if self.pattern == "grouped" else 1

    @property
    def description(self) -> str:
        q, r = divmod(self.depth, self.convs_per_block)
        blocks = f"{q} x ({_DESCRIPTIONS[self.pattern]})"
        if r:
            blocks = f"a partial block of {r} conv{'s' if r > 1 else ''} + {blocks}"
        return f"{self.depth} convs at width {self.width}: {blocks}, BN+ReLU each"

    @classmethod
    def parse(cls, ref: str) -> PatternConfig:
        """Read ``pattern/NAME?depth=D&width=W&input=S&classes=C`` (keys optional, any order)."""
        if not isinstance(ref, str) or not ref.lower().startswith(PREFIX):
            raise BadInput(f"not a design pattern name: {ref!r} (expected {PREFIX}NAME?depth=D)")
        name, sep, query = ref[len(PREFIX) :].partition("?")
        values = parse_query(ref, query, QUERY_KEYS) if sep else {}
        return cls(name, **values)

    def build(self) -> PatternNet:
        return PatternNet(self)


def canonical_name(ref: str) -> str:
    """The canonical form of a design-pattern name (BadInput when it is not one)."""
    return PatternConfig.parse(ref).name


def default_configs() -> list[PatternConfig]:
    """The six patterns at the default depth, width, input size and classes."""
    return [PatternConfig(p) for p in PATTERNS]


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of a block: channels, kernel (height, width), groups."""

    cin: int
    cout: int
    kernel: tuple[int, int]
    groups: int = 1
    depthwise: bool = False


def full_block(config: PatternConfig) -> list[ConvSpec]:
    """The convolutions of one full block of ``config``'s pattern."""
    w = config.width
    p = config.pattern
    if p == "standard":
        return [ConvSpec(w, w, (3, 3))]
    if p == "factorized":
        return [ConvSpec(w, w, (1, 3)), ConvSpec(w, w, (3, 1))]
    if p == "bottleneck":
        h = w // BOTTLENECK_REDUCTION
        return [ConvSpec(w, h, (1, 1)), ConvSpec(h, h, (3, 3)), ConvSpec(h, w, (1, 1))]
    if p == "depthwise_separable":
        return [ConvSpec(w, w, (3, 3), w, depthwise=True), ConvSpec(w, w, (1, 1))]
    if p == "depthwise_bottleneck":
        e = w * EXPANSION
        return [
            ConvSpec(w, e, (1, 1)),
            ConvSpec(e, e, (3, 3), e, depthwise=True),
            ConvSpec(e, w, (1, 1)),
        ]
    return [ConvSpec(w, w, (3, 3), config.groups)]  # grouped


def block_convs(config: PatternConfig, count: int) -> list[ConvSpec]:
    """The last ``count`` convolutions of a block, re-chained from ``width`` input channels."""
    full = full_block(config)
    if not 1 <= count <= len(full):
        raise ValueError(f"a {config.pattern} block has 1 to {len(full)} convolutions")
    out: list[ConvSpec] = []
    cin = config.width
    for spec in full[len(full) - count :]:
        if spec.depthwise:
            spec = ConvSpec(cin, cin, spec.kernel, cin, depthwise=True)
        else:
            spec = ConvSpec(cin, spec.cout, spec.kernel, spec.groups)
        out.append(spec)
        cin = spec.cout
    return out


def body_layout(config: PatternConfig) -> list[list[ConvSpec]]:
    """The body's blocks: a partial block of ``depth mod k`` convolutions first, then full ones."""
    k = config.convs_per_block
    q, r = divmod(config.depth, k)
    return ([block_convs(config, r)] if r else []) + [block_convs(config, k) for _ in range(q)]


def conv_bn_relu(spec: ConvSpec, stride: int = 1) -> nn.Sequential:
    kh, kw = spec.kernel
    return nn.Sequential(
        nn.Conv2d(
            spec.cin,
            spec.cout,
            spec.kernel,
            stride=stride,
            padding=(kh // 2, kw // 2),
            groups=spec.groups,
            bias=False,
        ),
        nn.BatchNorm2d(spec.cout),
        nn.ReLU(inplace=True),
    )


class PatternNet(nn.Module):
    """Stem, a body of one design pattern, global pool and linear head (see the module doc)."""

    def __init__(self, config: PatternConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.stem = nn.Sequential(
            *conv_bn_relu(ConvSpec(3, w, (3, 3)), stride=2), nn.MaxPool2d(3, 2, padding=1)
        )
        self.body = nn.Sequential(
            *(nn.Sequential(*map(conv_bn_relu, block)) for block in body_layout(config))
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w, config.classes)
        init_weights(self, mode="fan_in")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.body(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


def pattern(
    name: str, depth: int, width: int, input: int = DEFAULT_INPUT, classes: int = DEFAULT_CLASSES
) -> nn.Module:
    """A design-pattern network in evaluation mode; BadInput on an impossible configuration."""
    return PatternConfig(name, depth, width, input, classes).build().eval()
