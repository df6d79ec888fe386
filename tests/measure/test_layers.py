"""Engine profiles normalised into layer records, on hand-made profiles and a real cost graph."""

from __future__ import annotations

import pytest

from cnnbench.engines.base import EngineLayer
from cnnbench.graph.cost import model_cost
from cnnbench.graph.taxonomy import layer_type_of
from cnnbench.measure.layers import module_path, normalise
from cnnbench.results.profile import OVERHEAD, type_shares


def test_module_path_from_the_exporter_scope_name() -> None:
    assert module_path("/stem/stem.0/Conv") == "stem.0"
    assert module_path("/stages/stages.0/stages.0.0/body/body.0/Conv") == "stages.0.0.body.0"
    assert module_path("/stages/stages.0/stages.0.0/Add") == "stages.0.0"
    assert module_path("Conv_0") is None


def test_median_over_calls_types_and_costs_of_source_layers() -> None:
    cost = model_cost("tinynet", (3, 32, 32), 1)
    convs = [x for x in cost.layers if x.layer_type.startswith("conv")]
    relu = next(x for x in cost.layers if x.layer_type == "activation")
    fused_node = EngineLayer("conv+relu", "Convolution", 0.0, (convs[0].name, relu.name), "brgconv")
    plain = EngineLayer("c2", "Convolution", 0.0, (convs[1].name,), "jit")
    unknown = EngineLayer("reorder", "Reorder", 0.0, ())
    calls = [
        [
            EngineLayer(n.name, n.op_type, t, n.source_layers, n.kernel)
            for n, t in zip((fused_node, plain, unknown), times, strict=True)
        ]
        for times in ((10.0, 20.0, 1.0), (30.0, 22.0, 3.0), (20.0, 21.0, 2.0))
    ]
    first, second, third = normalise(calls, cost)
    assert first.time_ms == pytest.approx(0.020)  # median of 10, 30, 20 us
    assert first.calls == 3
    assert first.layer_type == f"fused({convs[0].layer_type}+activation)"
    assert first.macs == convs[0].macs  # a ReLU has no MACs
    assert second.layer_type == convs[1].layer_type and second.macs == convs[1].macs
    assert third.layer_type == layer_type_of("Reorder") and third.macs is None  # no cost

    shares = type_shares([first, second, third], end_to_end_ms=0.050)
    layers_ms = 0.020 + 0.021 + 0.002
    assert sum(t.time_ms for t in shares if t.layer_type != OVERHEAD) == pytest.approx(layers_ms)
    assert shares[-1].layer_type == OVERHEAD
    assert shares[-1].time_ms == pytest.approx(0.050 - layers_ms)
    assert sum(t.time_share or 0 for t in shares) == pytest.approx(1.0)
    counted = [t for t in shares if t.flops is not None]
    assert sum(t.flops_share or 0 for t in counted) == pytest.approx(1.0)
    reorder = next(t for t in shares if t.layer_type == third.layer_type)
    assert reorder.uncounted == 1 and reorder.flops is None and reorder.flops_share is None


def test_torch_module_paths_find_their_exported_nodes() -> None:
    cost = model_cost("tinynet", (3, 32, 32), 1)
    conv = next(x for x in cost.layers if x.layer_type.startswith("conv"))
    path = module_path(conv.name)
    assert path is not None
    (layer,) = normalise([[EngineLayer(path, "Conv2d", 5.0, (path,))]], cost)
    assert layer.macs == conv.macs and layer.layer_type == conv.layer_type


def test_a_source_the_graph_lacks_gives_no_partial_cost() -> None:
    cost = model_cost("tinynet", (3, 32, 32), 1)
    conv = next(x for x in cost.layers if x.layer_type.startswith("conv"))
    node = EngineLayer("bn", "BatchNorm2d", 4.0, (conv.name, "folded.bn"))
    (layer,) = normalise([[node]], cost)
    assert layer.macs is None and layer.flops is None
    assert layer.layer_type == "batchnorm"
