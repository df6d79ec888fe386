"""The torch engine's per-layer profile: one layer per leaf module that ran, from torch.profiler."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from cnnbench.engines import ModelInstance, get_engine
from cnnbench.engines.torch.profile import leaf_modules, profile_module
from cnnbench.models import create_model
from cnnbench.spec import Target

SHAPE = (1, 3, 32, 32)


def _session(module: nn.Module, shape: tuple[int, ...] = SHAPE):  # type: ignore[no-untyped-def]
    session = get_engine("torch")().prepare(
        ModelInstance("tiny", module, shape), Target("torch", threads=1)
    )
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    return session, session.make_inputs(x)


def _executed_leaves(module: nn.Module, x: torch.Tensor) -> list[str]:
    """Leaf module paths in the order a plain forward hook sees them run."""
    seen: list[str] = []
    handles = [
        m.register_forward_hook(lambda *_a, p=path: seen.append(p))
        for path, m in leaf_modules(module)
    ]
    try:
        with torch.inference_mode():
            module(x)
    finally:
        for h in handles:
            h.remove()
    return seen


def test_tinynet_every_leaf_once_per_call() -> None:
    torch.manual_seed(0)
    module = create_model("tinynet")
    session, x = _session(module)
    calls = 3
    wrapped: list[object] = []
    profiled = session.profile(x, calls, around=lambda call: wrapped.append(call()))
    assert len(profiled) == calls and len(wrapped) == calls
    leaves = {
        path: type(m).__name__ for path, m in module.named_modules() if not list(m.children())
    }
    order = _executed_leaves(module, x)
    assert sorted(order) == sorted(leaves)  # every leaf of tinynet runs, once
    for layers in profiled:
        assert [layer.name for layer in layers] == order
        assert all(layer.calls == 1 for layer in layers)
        assert all(layer.source_layers == (layer.name,) for layer in layers)
        assert [layer.op_type for layer in layers] == [leaves[p] for p in order]
        kernels = {layer.op_type: layer.kernel for layer in layers}
        assert kernels["Conv2d"] and "conv" in kernels["Conv2d"]
        assert kernels["Linear"] and kernels["Linear"].startswith("aten::")
    # the hooks are gone afterwards
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in module.modules())


def test_batchnorm_is_its_own_layer_in_eager_torch() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU())
    session, x = _session(module)
    (layers,) = session.profile(x, 1)
    assert [(layer.name, layer.op_type) for layer in layers] == [
        ("0", "Conv2d"),
        ("1", "BatchNorm2d"),
        ("2", "ReLU"),
    ]
    assert layers[1].kernel is not None and "batch_norm" in layers[1].kernel


def test_times_positive_and_below_the_wall_time() -> None:
    torch.manual_seed(0)
    session, x = _session(create_model("tinynet"))
    calls = 4
    start = time.perf_counter_ns()
    profiled = session.profile(x, calls)
    wall_us = (time.perf_counter_ns() - start) / 1e3
    assert len(profiled) == calls
    total = 0.0
    for layers in profiled:
        assert all(layer.time_us > 0 for layer in layers)
        total += sum(layer.time_us for layer in layers)
    assert 0 < total < wall_us


def test_a_module_run_twice_is_one_layer_with_two_calls() -> None:
    relu = nn.ReLU()
    module = nn.Sequential(nn.Linear(4, 4), relu, nn.Linear(4, 4), relu).eval()
    x = torch.ones(2, 4)
    with torch.inference_mode():
        (layers,) = profile_module(torch, module, lambda: module(x), 1)
    assert [(layer.name, layer.calls) for layer in layers] == [("0", 1), ("1", 2), ("2", 1)]


def test_a_raising_module_leaves_no_hooks_behind() -> None:
    class Boom(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("boom")

    module = nn.Sequential(nn.ReLU(), Boom())
    with pytest.raises(RuntimeError, match="boom"):
        profile_module(torch, module, lambda: module(torch.ones(2)), 1)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in module.modules())
    assert not torch.autograd.profiler._is_profiler_enabled


def test_a_layers_kernel_is_never_a_bookkeeping_operator() -> None:
    from cnnbench.engines.torch.profile import _kernel

    assert (
        _kernel({"aten::view": 9.0, "aten::mkldnn_convolution": 5.0}) == "aten::mkldnn_convolution"
    )
    assert _kernel({"aten::view": 1.0}) == "aten::view"  # all the module ran
    assert _kernel({}) is None
