"""OpenVINO runtime-model inspection: the kernels, instruction sets and layer precisions of the
graph a compiled model really executes (``compiled.get_runtime_model()``), and the checks that
refuse a model which does not run the requested precision or ISA cap.

See :mod:`cnnbench.engines.openvino.engine` for how the engine uses them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cnnbench.errors import Unsupported
from cnnbench.system.isa import cap_rank, kernel_isa

# OpenVINO element types in the runtime model -> cnnbench precision names
RUNTIME_PRECISIONS = {
    "f32": "fp32",
    "bf16": "bf16",
    "f16": "fp16",
    "i8": "int8",
    "u8": "int8",
    "i4": "int4",
    "u4": "int4",
    "f64": "fp64",
}
COMPUTE_LAYERS = frozenset(
    {
        "Convolution",
        "GroupConvolution",
        "BinaryConvolution",
        "Deconvolution",
        "FullyConnected",
        "MatMul",
        "Gemm",
    }
)
# Node kinds an ISA cap must hold on: the compute layers, pooling and eltwise chains (an
# "Eltwise" node, or a "Subgraph" of fused eltwise ops compiled by OpenVINO's snippets).
ISA_CAPPED_LAYERS = COMPUTE_LAYERS | {"Pooling", "Eltwise", "Subgraph"}
_NOT_KERNELS = frozenset({"Const", "Input", "Parameter", "Output", "Result"})


@dataclass(frozen=True)
class RuntimeNode:
    """One node of the runtime model: its name, layer type and kernel (``primitiveType``)."""

    name: str
    type: str
    kernel: str

    def to_dict(self) -> dict[str, str]:
        return {"node": self.name, "type": self.type, "kernel": self.kernel}


@dataclass(frozen=True)
class IsaCheck:
    """What :func:`check_isa_nodes` found under a cap that holds."""

    isa_seen: str | None  # the highest ISA a kernel name states
    exceptions: tuple[RuntimeNode, ...]  # nodes of other kinds whose kernel is above the cap


def no_isa_in_name(kernel: str) -> bool:
    """A kernel whose name gives no ISA and that is not a trivial node (const, input, reshape)."""
    name = kernel.lower()
    return kernel_isa(name) is None and not name.startswith(("unknown", "undef"))


def _precision_name(ov_type: str) -> str:
    return RUNTIME_PRECISIONS.get(ov_type.lower(), ov_type.lower())


def _describe_precisions(counts: Counter[str]) -> str:
    if not counts:
        return "unknown"
    if len(counts) == 1:
        return next(iter(counts))
    parts = ", ".join(
        f"{p} x{n}" for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return f"mixed: {parts}"


def _rt(rt_info: Any, key: str) -> str | None:
    try:
        return str(rt_info[key].astype(str))
    except (KeyError, IndexError, RuntimeError, AttributeError, TypeError):
        return None


def analyse_runtime_model(runtime_model: Any) -> dict[str, Any]:
    """Kernels and precisions of the graph OpenVINO executes."""
    kernels: Counter[str] = Counter()
    compute_precisions: Counter[str] = Counter()
    nodes: list[RuntimeNode] = []
    layer_types: Counter[str] = Counter()
    for op in runtime_model.get_ordered_ops():
        rt = op.get_rt_info()
        layer = _rt(rt, "layerType") or op.get_type_name()
        kernel = _rt(rt, "primitiveType")
        precision = _rt(rt, "runtimePrecision") or _rt(rt, "outputPrecisions")
        layer_types[layer] += 1
        if kernel and layer not in _NOT_KERNELS:
            nodes.append(RuntimeNode(op.get_friendly_name(), layer, kernel))
        if layer in COMPUTE_LAYERS:
            if kernel:
                kernels[kernel] += 1
            if precision:
                compute_precisions[_precision_name(precision.split(",")[0].strip())] += 1
    return {
        "kernels": sorted(kernels),
        "kernel_counts": dict(sorted(kernels.items())),
        "nodes": nodes,
        "layer_precisions": dict(sorted(compute_precisions.items())),
        "precision": _describe_precisions(compute_precisions),
        "layer_types": dict(sorted(layer_types.items())),
    }


def check_runtime_precision(requested: str, counts: dict[str, int]) -> None:
    """Refuse a runtime model whose compute nodes (``counts``: precision -> number of nodes)
    do not run the requested precision. A model with no compute node at all (a pooling or
    activation layer alone, as a per-layer replay runs) passes for fp32, the precision the
    engine was asked to keep; a reduced precision cannot be verified there and is refused."""
    seen = _describe_precisions(Counter(counts))
    if not counts and requested == "fp32":
        return
    if not counts:
        raise Unsupported(
            f"openvino: cannot verify precision {requested}: the runtime model shows no "
            "Convolution/FullyConnected/MatMul node with a runtime precision"
        )
    if requested == "fp32":
        if set(counts) != {"fp32"}:
            raise Unsupported(f"openvino: fp32 requested, but the runtime model runs {seen}")
    elif counts.get(requested, 0) == 0:
        raise Unsupported(f"openvino: {requested} requested, but the runtime model runs {seen}")


def check_isa_nodes(isa: str, nodes: Iterable[RuntimeNode]) -> IsaCheck:
    """Verify an ISA cap on the kernel names of the runtime model's nodes.

    A node of a capped kind (:data:`ISA_CAPPED_LAYERS`: convolutions, fully connected/MatMul,
    pooling, eltwise chains) whose kernel names an ISA above the cap is refused, with every
    such node. A node of another kind above the cap (OpenVINO's own Reduce kernel, where its
    ``OV_CPU_MAX_ISA`` is not honoured) is allowed and returned in ``exceptions`` for the
    record. Kernels whose names give no ISA are not judged here (see :func:`no_isa_in_name`).
    Within the AVX-512 family OpenVINO names most kernels just "avx512", so caps among
    avx512, avx512_vnni and avx512_bf16 are told apart only where a kernel name spells the
    sub-level out.
    """
    allowed = cap_rank(isa)
    nodes = list(nodes)
    seen: dict[str, int] = {}
    refused: list[RuntimeNode] = []
    exceptions: list[RuntimeNode] = []
    for node in nodes:
        found = kernel_isa(node.kernel)
        if found is None:
            continue
        label, rank = found
        seen[label] = rank
        if rank > allowed:
            (refused if node.type in ISA_CAPPED_LAYERS else exceptions).append(node)
    if refused:
        shown = "; ".join(f"{n.name} ({n.type}, {n.kernel})" for n in refused)
        raise Unsupported(
            f"openvino: ISA cap {isa} not honoured by compute kernels: {shown} "
            f"(kernels: {', '.join(sorted({n.kernel for n in nodes}))})"
        )
    return IsaCheck(max(seen, key=lambda k: seen[k]) if seen else None, tuple(exceptions))
