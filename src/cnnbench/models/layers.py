"""One-layer probe networks: a single executed kernel, to train per-layer latency predictors.

A latency predictor that sums per-kernel models (nn-Meter's design, ``cnnbench predict``) needs
kernel measurements over the whole configuration space, not only the configurations of the
networks it is judged on; nn-Meter samples kernels and times each alone. ``layer/KIND?...`` is
such a kernel as a network of its own, so it runs through the normal path (export, engines,
isolated workers, profile mode, store):

==========  ==============================================================  ====================
``conv``    conv ``kh x kw`` / ``stride``, ``groups``, no bias; BN; ReLU     what every engine
                                                                            fuses into one kernel
``fc``      flatten, linear ``cin -> cout``, ReLU                            input ``cin x 1 x 1``
``maxpool`` max pool ``kh x kw`` / ``stride``, padding ``kh // 2``           input ``cin x hw x hw``
``avgpool`` average pool, the same
==========  ==============================================================  ====================

Keys: ``cin``, ``cout`` (conv, fc), ``hw`` (square input side), ``kh``, ``kw``, ``stride``,
``groups`` (conv; ``groups = cin = cout`` is depthwise). The canonical name lists every key the
kind uses, sorted: ``layer/conv?cin=64&cout=64&groups=1&hw=56&kh=3&kw=3&stride=1``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields

from torch import nn

from cnnbench.errors import BadInput
from cnnbench.models._init import init_weights
from cnnbench.models._query import parse_query

PREFIX = "layer/"
KEYS = {
    "conv": ("cin", "cout", "groups", "hw", "kh", "kw", "stride"),
    "fc": ("cin", "cout"),
    "maxpool": ("cin", "hw", "kh", "kw", "stride"),
    "avgpool": ("cin", "hw", "kh", "kw", "stride"),
}
KINDS = tuple(KEYS)


@dataclass(frozen=True)
class LayerConfig:
    """One probe: its kind and the shape of its single kernel."""

    kind: str
    cin: int = 64
    cout: int = 64
    hw: int = 56
    kh: int = 3
    kw: int = 3
    stride: int = 1
    groups: int = 1

    def __post_init__(self) -> None:
        kind = str(self.kind).strip().lower()
        if kind not in KEYS:
            close = difflib.get_close_matches(kind, KINDS, n=2, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"one of {', '.join(KINDS)}"
            raise BadInput(f"unknown layer probe {self.kind!r}; {hint}")
        object.__setattr__(self, "kind", kind)
        for f in fields(self)[1:]:
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(f"layer probe {f.name} must be a positive integer, got {value!r}")
        if kind == "conv" and (self.cin % self.groups or self.cout % self.groups):
            raise BadInput(
                f"layer probe conv: groups {self.groups} must divide cin {self.cin} "
                f"and cout {self.cout}"
            )
        if kind != "fc" and (self.kh > self.hw or self.kw > self.hw):
            raise BadInput(
                f"layer probe {kind}: a {self.kh}x{self.kw} kernel on a {self.hw}x{self.hw} input"
            )

    @property
    def name(self) -> str:
        query = "&".join(f"{k}={getattr(self, k)}" for k in KEYS[self.kind])
        return f"{PREFIX}{self.kind}?{query}"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.cin, 1, 1) if self.kind == "fc" else (self.cin, self.hw, self.hw)

    @property
    def description(self) -> str:
        if self.kind == "fc":
            return f"one fully connected layer {self.cin} -> {self.cout}, ReLU"
        k = f"{self.kh}x{self.kw}/{self.stride}"
        if self.kind == "conv":
            g = f", {self.groups} groups" if self.groups > 1 else ""
            return f"one {k} conv {self.cin} -> {self.cout}{g} on {self.hw}x{self.hw}, BN, ReLU"
        return f"one {k} {self.kind} over {self.cin} channels on {self.hw}x{self.hw}"

    @classmethod
    def parse(cls, ref: str) -> LayerConfig:
        """Read ``layer/KIND?KEY=VALUE&...`` (keys of the kind only, each at most once)."""
        if not isinstance(ref, str) or not ref.lower().startswith(PREFIX):
            raise BadInput(f"not a layer probe name: {ref!r} (expected {PREFIX}KIND?KEY=VALUE)")
        kind, sep, query = ref[len(PREFIX) :].partition("?")
        LayerConfig(kind)  # the kind's own error first
        values = parse_query(ref, query, KEYS[kind.strip().lower()]) if sep else {}
        return cls(kind, **values)

    def build(self) -> nn.Module:
        if self.kind == "fc":
            net: nn.Module = nn.Sequential(
                nn.Flatten(1), nn.Linear(self.cin, self.cout), nn.ReLU(inplace=True)
            )
        elif self.kind == "conv":
            net = nn.Sequential(
                nn.Conv2d(
                    self.cin, self.cout, (self.kh, self.kw), stride=self.stride,
                    padding=(self.kh // 2, self.kw // 2), groups=self.groups, bias=False,
                ),
                nn.BatchNorm2d(self.cout),
                nn.ReLU(inplace=True),
            )  # fmt: skip
        else:
            pool = nn.MaxPool2d if self.kind == "maxpool" else nn.AvgPool2d
            net = nn.Sequential(
                pool((self.kh, self.kw), self.stride, padding=(self.kh // 2, self.kw // 2))
            )
        init_weights(net, mode="fan_in")
        return net.eval()


def canonical_name(ref: str) -> str:
    return LayerConfig.parse(ref).name
