"""ONNX export cache, layer taxonomy and analytic cost model (MACs, FLOPs, bytes).

``onnx_path`` exports a registered model once per shape/opset/torch version; ``network_cost`` /
``model_cost`` count its work per node; ``taxonomy`` is the layer vocabulary every engine's
per-layer records map into. Heavy imports (torch, onnx) happen inside the functions.
"""

from cnnbench.graph.cost import LayerCost, NetworkCost, TypeCost, model_cost, network_cost
from cnnbench.graph.export import cache_dir, export_module, onnx_path
from cnnbench.graph.taxonomy import (
    LAYER_TYPES,
    conv_type,
    fused,
    fused_parts,
    is_layer_type,
    layer_type_of,
    onnx_layer_type,
)

__all__ = [
    "LAYER_TYPES",
    "LayerCost",
    "NetworkCost",
    "TypeCost",
    "cache_dir",
    "conv_type",
    "export_module",
    "fused",
    "fused_parts",
    "is_layer_type",
    "layer_type_of",
    "model_cost",
    "network_cost",
    "onnx_layer_type",
    "onnx_path",
]
