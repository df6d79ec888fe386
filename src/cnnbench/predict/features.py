"""Features for prediction, from the cost model: per network and per executed (fused) layer.

Engines do not run ONNX nodes one by one: they fuse a convolution with the BatchNorm, activation
and residual add that follow it, and drop layout-only nodes. A predictor for a network the
engine has never run must guess those fused layers from the graph alone, so :func:`kernels`
groups the cost model's nodes (in graph order, which is topological) into **kernels** with one
deterministic rule, the same in training and in prediction:

* an *anchor* (convolution of any type, fully connected, pooling, concat, reshape, other) opens
  a kernel; its layer type is the kernel's ``kind``;
* a *tail* (batchnorm, activation, element-wise add) joins the kernel just before it when that
  kernel is a convolution or fully connected layer whose output has the tail's shape (what
  ONNX Runtime, OpenVINO and oneDNN fuse: conv + BN + ReLU, conv + Add + ReLU), else it is a
  kernel of its own kind.

Training attributes each executed layer of a profile to the kernel holding its first anchor
source (see :mod:`cnnbench.predict.dataset`); a kernel the engine never reported (a reshape
optimised away) measures 0 ms, so the per-kind model learns that too.

:class:`KernelFeatures` holds what a per-kind model reads: MACs, FLOPs, parameters, weight and
activation bytes, arithmetic intensity, kernel area, stride, groups, channels, output spatial
size and the number of fused tails. Channels, kernel and groups come from the weight's shape
(``[Cout, Cin/groups, kh, kw]``) and the input's; stride from the spatial sizes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cnnbench.graph.cost import LayerCost, NetworkCost
from cnnbench.graph.taxonomy import ACTIVATION, ADD, BATCHNORM, CONV_TYPES, FC

TAILS = frozenset({BATCHNORM, ACTIVATION, ADD})
FUSING_ANCHORS = CONV_TYPES | {FC}

# The columns of KernelFeatures.vector(), in order (the tree models read them all).
COLUMNS = (
    "macs",
    "flops",
    "params",
    "weight_bytes",
    "input_bytes",
    "output_bytes",
    "intensity",
    "kernel_area",
    "stride",
    "groups",
    "cin",
    "cout",
    "spatial",
    "tails",
    "tail_bytes",
    "cold_weight_bytes",
    "padded_macs",
    "misaligned_bytes",
    "input_loads",
)


@dataclass(frozen=True)
class KernelFeatures:
    """One predicted executed layer: its kind, the cost-model nodes it covers, their costs."""

    kind: str  # the anchor's layer type (a taxonomy type)
    nodes: tuple[str, ...]  # cost-model node names, anchor first
    macs: int
    flops: int
    params: int
    weight_bytes: int
    input_bytes: int
    output_bytes: int
    kernel_area: int = 1
    stride: int = 1
    groups: int = 1
    cin: int = 0
    cout: int = 0
    spatial: int = 1  # output height x width (1 for a vector)
    tails: int = 0  # fused batchnorm / activation / add nodes
    tail_bytes: int = 0  # the activation bytes those tails read and write
    cold_weight_bytes: int = 0  # weights read from memory, not cache (see in_context)
    padded_macs: int = 0  # MACs with channels padded to the SIMD lanes (see in_context)
    misaligned_bytes: int = 0  # activation bytes of channels that are no whole vector
    input_loads: int = 0  # input values a register-blocked kernel loads (see input_loads)

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.input_bytes + self.output_bytes

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved (0 when nothing moves)."""
        return self.flops / self.bytes if self.bytes else 0.0

    def vector(self) -> np.ndarray:
        return np.array([float(getattr(self, c)) for c in COLUMNS])


def _shape_dims(layer: LayerCost) -> tuple[int, int, int, int, int, int]:
    """(kernel area, stride, groups, cin, cout, spatial) read from the node's shapes."""
    x = layer.input_shapes[0] if layer.input_shapes else None
    y = layer.output_shapes[0] if layer.output_shapes else None
    w = layer.input_shapes[1] if len(layer.input_shapes) > 1 else None
    cin = int(x[1]) if x and len(x) > 1 else 0
    cout = int(y[1]) if y and len(y) > 1 else 0
    spatial = math.prod(y[2:]) if y and len(y) > 2 else 1
    area, groups, stride = 1, 1, 1
    if layer.layer_type in CONV_TYPES and w and len(w) > 2:
        area = math.prod(w[2:])
        groups = max(1, cin // w[1]) if w[1] else 1
    if x and y and len(x) > 2 and len(y) > 2 and y[2]:
        stride = max(1, round(x[2] / y[2]))
    if layer.layer_type == FC and w and len(w) == 2:
        cin, cout = (cin or int(w[0])), (cout or int(w[1]))
    return area, stride, groups, cin, cout, spatial


def _opens(layer: LayerCost) -> KernelFeatures:
    area, stride, groups, cin, cout, spatial = _shape_dims(layer)
    return KernelFeatures(
        kind=layer.layer_type,
        nodes=(layer.name,),
        macs=layer.macs or 0,
        flops=layer.flops or 0,
        params=layer.params,
        weight_bytes=layer.weight_bytes,
        input_bytes=layer.input_bytes,
        output_bytes=layer.output_bytes,
        kernel_area=area,
        stride=stride,
        groups=groups,
        cin=cin,
        cout=cout,
        spatial=spatial,
    )


def _joins(kernel: KernelFeatures, layer: LayerCost) -> bool:
    return layer.layer_type in TAILS and kernel.kind in FUSING_ANCHORS


def _absorb(kernel: KernelFeatures, layer: LayerCost) -> KernelFeatures:
    """The kernel with a tail fused in: its work and weights add, its activations stay the
    anchor's (a fused tail writes no tensor of its own); a residual operand read is added."""
    moved = layer.input_bytes + layer.output_bytes
    extra_input = max(0, layer.input_bytes - layer.output_bytes)  # Add's second operand
    return KernelFeatures(
        kind=kernel.kind,
        nodes=(*kernel.nodes, layer.name),
        macs=kernel.macs + (layer.macs or 0),
        flops=kernel.flops + (layer.flops or 0),
        params=kernel.params + layer.params,
        weight_bytes=kernel.weight_bytes + layer.weight_bytes,
        input_bytes=kernel.input_bytes + extra_input,
        output_bytes=kernel.output_bytes,
        kernel_area=kernel.kernel_area,
        stride=kernel.stride,
        groups=kernel.groups,
        cin=kernel.cin,
        cout=kernel.cout,
        spatial=kernel.spatial,
        tails=kernel.tails + 1,
        tail_bytes=kernel.tail_bytes + moved,
    )


def kernels(cost: NetworkCost) -> tuple[KernelFeatures, ...]:
    """The network's nodes grouped into predicted executed layers (see the module docstring)."""
    out: list[KernelFeatures] = []
    last_shape: tuple[int, ...] | None = None
    for layer in cost.layers:
        shape = layer.output_shapes[0] if layer.output_shapes else None
        if out and _joins(out[-1], layer) and shape is not None and shape == last_shape:
            out[-1] = _absorb(out[-1], layer)
            continue
        out.append(_opens(layer))
        last_shape = shape
    return tuple(out)


def largest_cache_bytes(machine: Mapping[str, Any]) -> int:
    """The machine fingerprint's largest cache (the last level), 0 when it lists none."""
    return max((int(c.get("size_bytes") or 0) for c in machine.get("caches") or ()), default=0)


def simd_lanes(machine: Mapping[str, Any]) -> int:
    """fp32 lanes of the widest vector unit the fingerprint's ISA flags name (0: unknown)."""
    isa = set(machine.get("isa") or ())
    if "avx512f" in isa:
        return 16
    if isa & {"avx", "avx2"}:
        return 8
    if isa & {"sse4_2", "sse2", "neon", "asimd"}:
        return 4
    return 0


def padded_macs(k: KernelFeatures, lanes: int) -> int:
    """The kernel's MACs with its channels rounded up to whole vectors of ``lanes``: a 24-channel
    convolution computes two 16-lane vectors, a third of them padding, and takes the time of
    32 channels (the staircase nn-Meter sees in kernel latency against channels). Per group for
    grouped convolutions; a depthwise one vectorises its channels; input channels of 4 or
    fewer (an RGB stem) are not vectorised and not padded."""
    if not lanes or not k.macs or not k.cin or not k.cout:
        return k.macs

    def up(c: int) -> float:
        return -(-c // lanes) * lanes / c

    groups = max(1, k.groups)
    if groups == k.cin:  # depthwise
        return round(k.macs * up(k.cin))
    cin, cout = k.cin // groups, k.cout // groups
    return round(k.macs * up(cout) * (up(cin) if cin > 4 else 1.0))


def misaligned_bytes(k: KernelFeatures, lanes: int) -> int:
    """Activation bytes on a side whose channels are no whole number of vectors."""
    if not lanes:
        return 0
    out = 0
    if k.cin > 4 and k.cin % lanes:
        out += k.input_bytes
    if k.cout and k.cout % lanes:
        out += k.output_bytes
    return out


BLOCKS = 4  # output-channel vectors a register-blocked kernel keeps in flight per input load


def input_loads(k: KernelFeatures, lanes: int) -> int:
    """The input values a register-blocked kernel loads (broadcasts): one per MAC divided by the
    output channels (per group) it reuses each for, at most :data:`BLOCKS` vectors of ``lanes``
    (MLAS's NCHWc kernels and oneDNN's JIT convolutions both block 4 filter vectors). A
    16-channel output reuses each load 16 times, a 64-channel one 64 times: the same MACs take
    longer when the output is narrow (onnxruntime: a 3x3 convolution from 64 to 16 channels at
    28 x 28, 7.2 M MACs, took 96 us where the kernel model without this feature said 64 us).
    0 for a depthwise kernel, whose loads are its MACs."""
    if not lanes or not k.macs or not k.cout:
        return 0
    groups = max(1, k.groups)
    if groups == k.cin and groups > 1:
        return 0
    return round(k.macs / min(k.cout // groups or 1, BLOCKS * lanes))


def in_context(f: NetworkFeatures, llc_bytes: int, lanes: int = 0) -> tuple[KernelFeatures, ...]:
    """The network's kernels as this machine runs them: MACs padded to its SIMD lanes
    (:func:`padded_macs`), the bytes of channels that fill no whole vector
    (:func:`misaligned_bytes`: ONNX Runtime reorders around such a layer), the input loads of
    a register-blocked kernel (:func:`input_loads`), and weights marked
    cold when the network's weights exceed the last-level cache: run back to back, such a
    network evicts each layer's weights before its next call, so a layer streams them from
    memory, while a small network (or a probe of one small layer) finds them in cache. A probe
    alone cannot show this; the feature can."""
    cold = bool(llc_bytes) and f.weight_bytes > llc_bytes
    return tuple(
        replace(k, cold_weight_bytes=k.weight_bytes if cold else 0,
                padded_macs=padded_macs(k, lanes),
                misaligned_bytes=misaligned_bytes(k, lanes),
                input_loads=input_loads(k, lanes))
        for k in f.kernels
    )  # fmt: skip


def node_to_kernel(found: Sequence[KernelFeatures]) -> dict[str, int]:
    """Cost-model node name -> index of the kernel that holds it."""
    return {node: i for i, k in enumerate(found) for node in k.nodes}


@dataclass(frozen=True)
class NetworkFeatures:
    """Whole-network features: the cost model's totals and the predicted kernels."""

    model: str
    macs: int
    flops: int
    params: int
    weight_bytes: int
    activation_bytes: int
    nodes: int
    kernels: tuple[KernelFeatures, ...]
    complete: bool  # the cost model counted every node and knew every shape

    @classmethod
    def of(cls, cost: NetworkCost, model: str | None = None) -> NetworkFeatures:
        return cls(
            model=model or cost.model,
            macs=cost.macs,
            flops=cost.flops,
            params=cost.params,
            weight_bytes=cost.weight_bytes,
            activation_bytes=cost.activation_bytes,
            nodes=len(cost.layers),
            kernels=kernels(cost),
            complete=cost.complete,
        )

    def kinds(self) -> dict[str, int]:
        """Kernels per kind."""
        counts: dict[str, int] = {}
        for k in self.kernels:
            counts[k.kind] = counts.get(k.kind, 0) + 1
        return counts
