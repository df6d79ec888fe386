"""An independent counter for the tests: PyTorch's own FLOP counter on the meta device.

The package has one MAC counter (the ONNX cost model); the tests check it against this one,
which counts conv, linear and matmul ops of the module itself, shapes only, no weights.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbench.models import ModelInfo


@dataclass(frozen=True)
class TorchCount:
    params: int
    macs: int  # conv + linear multiply-accumulates per image
    conv_layers: int
    fc_layers: int


def torch_count(info: ModelInfo) -> TorchCount:
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        module = info.factory().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.empty((1, *info.input_shape)))
    return TorchCount(
        params=sum(p.numel() for p in module.parameters()),
        macs=int(counter.get_total_flops()) // 2,
        conv_layers=sum(isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d) for m in module.modules()),
        fc_layers=sum(isinstance(m, nn.Linear) for m in module.modules()),
    )
