"""The worker entry of ``cnnbench profile``: end-to-end time, the engine's profile, overhead.

In one worker, for one spec: the model is built and prepared as for a measurement; the
end-to-end latency is timed without any profiler (the timing loop, warm-up included); then
``calls`` calls run under the engine's own profiler (:meth:`Session.profile`). Layers are
normalised against the cost model of the very ONNX file the ONNX engines run
(:mod:`cnnbench.measure.layers`).

``overhead_ms`` = unprofiled end-to-end median minus the sum of the layers' median times: what
no layer accounts for (framework dispatch, Python, layout conversions the profiler does not
show). The profiler's own distortion (profiled against unprofiled end-to-end) is not measured
yet: ``profiled_end_to_end_ms`` is null.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from cnnbench.measure.job import INPUT_SEED, check_isa_on_machine
from cnnbench.measure.layers import by_type, normalise
from cnnbench.spec import RunSpec

DEFAULT_PROFILE_CALLS = 10


def run_profile(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"spec": ..., "calls": N}`` -> the profile of one spec as JSON."""
    import torch

    from cnnbench.engines import get_engine
    from cnnbench.graph.cost import network_cost
    from cnnbench.graph.export import SEED
    from cnnbench.graph.source import source_onnx
    from cnnbench.measure.timing import time_calls
    from cnnbench.models import create_model, get_model_info
    from cnnbench.models.instance import ModelInstance

    spec = RunSpec.from_dict(payload["spec"])
    calls = int(payload.get("calls") or DEFAULT_PROFILE_CALLS)
    check_isa_on_machine(spec.target.isa)
    info = get_model_info(spec.model.name, spec.input_shape)
    extras: dict[str, Any] = {}
    module = None
    if info.onnx_path is not None:
        extras["onnx_path"] = str(info.onnx_path)
    else:
        torch.manual_seed(SEED)
        module = create_model(spec.model.name)
    instance = ModelInstance(spec.model.name, module, spec.full_input_shape, extras)
    cost = None
    cost_note = None
    try:
        cost = network_cost(source_onnx(instance).path)
    except Exception as exc:  # the profile stands without costs
        cost_note = f"no cost model: {type(exc).__name__}: {exc}"[:300]
    engine = get_engine(spec.target.engine)()
    session = engine.prepare(instance, spec.target)
    array = np.random.default_rng(INPUT_SEED).standard_normal(
        spec.full_input_shape, dtype=np.float32
    )
    inputs = session.make_inputs(array)
    with session.context():
        timing = time_calls(session.timed_call(inputs), spec.budget)
    profiled = session.profile(inputs, calls)
    layers = normalise(profiled, cost)
    end_to_end_ms = statistics.median(timing.samples_ns) / 1e6
    layer_ms = sum(x.time_ms or 0.0 for x in layers)
    total_flops = sum(f for _, f in by_type(layers).values() if f) or None
    types = {}
    for kind, (time_ms, flops) in sorted(by_type(layers).items(), key=lambda kv: -kv[1][0]):
        types[kind] = {
            "time_ms": time_ms,
            "time_share": time_ms / end_to_end_ms if end_to_end_ms > 0 else None,
            "flops_share": flops / total_flops if flops is not None and total_flops else None,
        }
    effective = session.effective()
    return {
        "model": spec.model.name,
        "engine": spec.target.engine,
        "threads": effective.get("threads") or spec.target.threads,
        "end_to_end_ms": end_to_end_ms,
        "end_to_end_n": len(timing.samples_ns),
        # Not yet measured: an engine's profile() may build a profiling session first, so a
        # wall clock around it is not the profiled call's time.
        "profiled_end_to_end_ms": None,
        "layers_ms": layer_ms,
        "overhead_ms": end_to_end_ms - layer_ms,
        "overhead_share": (end_to_end_ms - layer_ms) / end_to_end_ms if end_to_end_ms else None,
        "overhead_note": (
            "negative: the profiled layer times add up to more than the unprofiled call, so "
            "the profiler's own cost exceeds the overhead here; read the shares, not the sum"
            if layer_ms > end_to_end_ms
            else None
        ),
        "profiled_calls": len(profiled),
        "layers": [layer.to_json() for layer in layers],
        "by_type": types,
        "cost_note": cost_note,
        "bn_note": (
            "BatchNorm after a convolution is folded into it at export: the ONNX engines "
            "never see it"
            if spec.target.engine != "torch"
            else None
        ),
    }
