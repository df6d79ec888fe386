"""Quick per-model figures for listings: parameters, MACs and layer counts at batch 1.

Counted on PyTorch's meta device (shapes only, no weights, no arithmetic) with
``torch.utils.flop_counter``, so listing the whole zoo takes seconds. The per-layer table of
``cnnbench models --detail`` comes from the ONNX cost model instead (:mod:`cnnbench.graph`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbench.models._registry import ModelInfo


@dataclass(frozen=True)
class ModelSummary:
    params: int
    macs: int  # conv + linear multiply-accumulates per image
    conv_layers: int
    fc_layers: int

    @property
    def layers(self) -> int:
        return self.conv_layers + self.fc_layers


def summarize(info: ModelInfo) -> ModelSummary:
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        module = info.factory().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.empty((1, *info.input_shape)))
    convs = sum(isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d) for m in module.modules())
    fcs = sum(isinstance(m, nn.Linear) for m in module.modules())
    return ModelSummary(
        params=sum(p.numel() for p in module.parameters()),
        macs=int(counter.get_total_flops()) // 2,
        conv_layers=convs,
        fc_layers=fcs,
    )


def summary_row(info: ModelInfo) -> dict[str, object]:
    """One row of ``cnnbench models --json``."""
    s = summarize(info)
    return {
        "name": info.name,
        "family": info.family,
        "input_shape": list(info.input_shape),
        "dataset": info.dataset,
        "params": s.params,
        "macs": s.macs,
        "layers": s.layers,
        "conv_layers": s.conv_layers,
        "fc_layers": s.fc_layers,
        "description": info.description,
    }
