"""Worker entries: what runs inside the child process (see :mod:`cnnbench.measure.worker`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.errors import Unsupported
from cnnbench.graph.export import SEED
from cnnbench.measure.agreement import compare
from cnnbench.spec import RunSpec
from cnnbench.system.fingerprint import parse_cpuinfo
from cnnbench.system.isa import missing_flags

INPUT_SEED = 0


def model_cost(module: Any, sample_shape: tuple[int, ...]) -> dict[str, Any]:
    """Per-image cost from PyTorch's own FLOP counter (conv, linear, matmul ops only)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in module.parameters())
    weight_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    weight_bytes += sum(b.numel() * b.element_size() for b in module.buffers())
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(torch.zeros((1, *sample_shape)))
    flops = int(counter.get_total_flops())
    return {
        "source": "torch.utils.flop_counter (conv, linear and matmul ops; per image)",
        "per": "image",
        "macs": flops // 2,
        "flops": flops,
        "params": params,
        "weight_bytes": weight_bytes,
    }


def check_isa_on_machine(isa: str | None) -> None:
    if isa is None:
        return
    text = Path("/proc/cpuinfo").read_text(errors="replace")
    missing = missing_flags(isa, parse_cpuinfo(text)["isa"])
    if missing:
        raise Unsupported(f"ISA cap {isa}: this CPU lacks {', '.join(missing)}")


def _run_streams(
    session: Any,
    inputs: Any,
    spec: RunSpec,
    prepare_s: float,
    engine_version: str | None,
    cost: dict[str, Any] | None,
) -> dict[str, Any]:
    """Several requests in flight for the budget: per-request latencies and total images/s."""
    from cnnbench.measure.streams import time_streams

    result = time_streams(session, inputs, spec.target.streams, spec.batch, spec.budget)
    return {
        "status": "ok",
        "samples_ns": list(result.latencies_ns),
        "warmup": result.warmup.to_dict(),
        "stop_reason": "budget",
        "prepare_s": prepare_s,
        "streams": {
            "method": "requests in flight (engine's infer queue: its asynchronous API or threads)",
            "requests_in_flight": result.requests_in_flight,
            "completed": result.completed,
            "seconds": result.seconds,
            "images_per_s": result.images_per_s,
        },
        "effective": session.effective(),
        "cost": cost,
        "engine_version": engine_version,
    }


def _first_output(out: Any) -> Any:
    return out[0] if isinstance(out, tuple | list) else out


def run_measurement(payload: dict[str, Any]) -> dict[str, Any]:
    """Build the model, prepare the engine session, warm up and time it."""
    import torch

    from cnnbench.engines import ModelInstance, get_engine
    from cnnbench.measure.timing import time_calls
    from cnnbench.models import create_model, get_model_info

    spec = RunSpec.from_dict(payload["spec"])
    check_isa_on_machine(spec.target.isa)
    engine = get_engine(spec.target.engine)()
    t_start = time.perf_counter()
    info = get_model_info(spec.model.name, spec.input_shape)
    array = np.random.default_rng(INPUT_SEED).standard_normal(
        spec.full_input_shape, dtype=np.float32
    )
    module = None
    extras: dict[str, Any] = {}
    reference = None
    cost = None
    if info.onnx_path is not None:
        # A user's ONNX file: no torch module, so no torch reference and no torch-side count.
        extras["onnx_path"] = str(info.onnx_path)
    else:
        torch.manual_seed(SEED)  # the export cache's seed: engines and cost share one file
        module = create_model(spec.model.name)
        cost = model_cost(module, spec.input_shape) if payload.get("cost", True) else None
        if payload.get("agreement", True):
            # Before prepare: an engine may convert the module in place (dtype, memory format).
            with torch.inference_mode():
                reference = _first_output(module(torch.from_numpy(array))).float().numpy()
    instance = ModelInstance(spec.model.name, module, spec.full_input_shape, extras)
    session = engine.prepare(instance, spec.target)
    inputs = session.make_inputs(array)
    prepare_s = time.perf_counter() - t_start
    with session.context():
        if spec.target.streams > 1:
            return _run_streams(session, inputs, spec, prepare_s, engine.version(), cost)
        timing = time_calls(session.timed_call(inputs), spec.budget)
        effective = session.effective()
        output = session.to_numpy(session.run(inputs)) if reference is not None else None
    agreement = None
    if reference is not None and output is not None:
        agreement = compare(reference, output, spec.target.precision)
    return {
        "status": "ok",
        "samples_ns": list(timing.samples_ns),
        "warmup": {
            "calls": timing.warmup.calls,
            "seconds": timing.warmup.seconds,
            "settled": timing.warmup.settled,
        },
        "stop_reason": timing.stop_reason,
        "rel_half_width": timing.rel_half_width,
        "prepare_s": prepare_s,
        "effective": effective,
        "cost": cost,
        "agreement": agreement,
        "engine_version": engine.version(),
    }
