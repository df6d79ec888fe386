"""Worker entries: what runs inside the child process (see :mod:`cnnbench.measure.worker`).

:func:`run_measurement` returns a :class:`~cnnbench.results.worker.WorkerResult` as JSON: the
samples, the engine's effective settings, the agreement with the torch reference, the readings
of the spec's in-worker probes (around the timed window) and the cost section, computed here
from the graph cost model of the very ONNX file the ONNX engines run, outside the timed window.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnbench._fs import atomic_write
from cnnbench.errors import BadInput, Unsupported
from cnnbench.graph.export import SEED
from cnnbench.measure.agreement import compare
from cnnbench.measure.probes.base import (
    Probe,
    ProbeReading,
    get_probe,
    probe_window,
)
from cnnbench.results.effective import Effective
from cnnbench.results.rounds import Warmup
from cnnbench.results.sections import Cost
from cnnbench.results.speed import Streams
from cnnbench.results.worker import WorkerResult
from cnnbench.spec import RunSpec
from cnnbench.system.fingerprint import parse_cpuinfo
from cnnbench.system.isa import missing_flags

if TYPE_CHECKING:
    from cnnbench.models.instance import ModelInstance

INPUT_SEED = 0
COST_SOURCE = "cnnbench.graph ONNX cost model (BatchNorm folded by the exporter)"
COST_REASON_LIMIT = 500
STREAMS_METHOD = "requests in flight (engine's infer queue: its asynchronous API or threads)"


def _cost_cache_path(onnx: Path) -> Path:
    """Where the cost of one ONNX file is kept: keyed by its path, size and modification time
    (an export's name is already a content hash) and the cost model's format."""
    from cnnbench.graph.export import cache_dir
    from cnnbench.graph.summary import SUMMARY_FORMAT

    st = onnx.stat()
    key = json.dumps([str(onnx.resolve()), st.st_size, st.st_mtime_ns, SUMMARY_FORMAT, COST_SOURCE])
    return cache_dir().parent / "cost" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def worker_cost(instance: ModelInstance) -> Cost:
    """Per-image cost from the graph cost model of the ONNX file the ONNX engines run.

    That file is the cached export of the instance's module (made here if no engine made it
    yet), or the user's own .onnx file, costed directly. The cost of a file is computed once
    and kept beside the exports (a sweep's later configurations of the same model read it).
    Any failure gives a cost with source ``none`` and the reason; the measurement goes on.
    """
    from cnnbench.graph.source import source_onnx

    try:
        onnx = source_onnx(instance).path
        cache = _cost_cache_path(onnx)
        with contextlib.suppress(OSError, ValueError, BadInput):
            return Cost.from_json(json.loads(cache.read_text()))  # a damaged file: recomputed
        cost = _network_cost(onnx)
    except Exception as exc:
        reason = f"cost model failed: {type(exc).__name__}: {exc}"
        return Cost.none(reason[:COST_REASON_LIMIT])
    if cost.available:
        with contextlib.suppress(OSError):
            atomic_write(cache, json.dumps(cost.to_json()))
    return cost


def _network_cost(onnx: Path) -> Cost:
    from cnnbench.graph.cost import network_cost

    cost = network_cost(onnx)
    if any(not isinstance(d, int) or d < 1 for d in cost.input_shape):
        return Cost.none("the ONNX graph has symbolic dimensions")
    per = cost.batch
    return Cost(
        source=COST_SOURCE,
        per="image",
        macs=cost.macs // per,
        flops=2 * cost.macs // per,
        flops_all_ops=cost.flops // per,
        params=cost.params,
        weight_bytes=cost.weight_bytes,
        activation_bytes=cost.activation_bytes // per,
        layer_count=len(cost.layers),
        uncounted=tuple(cost.uncounted),
        macs_by_type={k: v.macs for k, v in cost.by_type.items() if v.macs},
        complete=cost.complete,
        uncounted_nodes=cost.uncounted_nodes,
        shapes=cost.shapes,
    )


def window_probes(names: tuple[str, ...]) -> tuple[list[Probe], list[ProbeReading]]:
    """The spec's probes that wrap the timed window (launcher probes are the parent's), and
    a reading with source none for each that could not be made."""
    probes: list[Probe] = []
    failed: list[ProbeReading] = []
    for name in names:
        cls = get_probe(name)
        if not issubclass(cls, Probe):
            if ":" in name:  # an outside class cannot wrap the worker: that runs in the parent
                reason = "a launcher probe must be registered; outside classes run in the worker"
                failed.append(ProbeReading.unavailable(cls.name, cls.kind, reason))
            continue
        try:
            probes.append(cls())
        except Exception as exc:
            reason = f"could not be made: {type(exc).__name__}: {exc}"
            failed.append(ProbeReading.unavailable(cls.name, cls.kind, reason))
    return probes, failed


def check_isa_on_machine(isa: str | None) -> None:
    if isa is None:
        return
    text = Path("/proc/cpuinfo").read_text(errors="replace")
    missing = missing_flags(isa, parse_cpuinfo(text)["isa"])
    if missing:
        raise Unsupported(f"ISA cap {isa}: this CPU lacks {', '.join(missing)}")


def _first_output(out: Any) -> Any:
    return out[0] if isinstance(out, tuple | list) else out


def run_measurement(payload: dict[str, Any]) -> dict[str, Any]:
    """Build the model, cost it, prepare the engine session, warm up and time it (with the
    spec's probes around the timed window); the worker's result as JSON."""
    import torch

    from cnnbench.engines import get_engine
    from cnnbench.measure.streams import time_streams
    from cnnbench.measure.timing import time_calls
    from cnnbench.models import create_model, get_model_info
    from cnnbench.models.instance import ModelInstance

    spec = RunSpec.from_dict(payload["spec"])
    check_isa_on_machine(spec.target.isa)
    engine = get_engine(spec.target.engine)()
    probes, unmade = window_probes(spec.probes)
    t_start = time.perf_counter()
    info = get_model_info(spec.model.name, spec.input_shape)
    array = np.random.default_rng(INPUT_SEED).standard_normal(
        spec.full_input_shape, dtype=np.float32
    )
    module = None
    extras: dict[str, Any] = {}
    reference = None
    if info.onnx_path is not None:
        # A user's ONNX file: no torch module, so no torch reference.
        extras["onnx_path"] = str(info.onnx_path)
    else:
        torch.manual_seed(SEED)  # the export cache's seed: engines and cost share one file
        module = create_model(spec.model.name)
        if payload.get("agreement", True):
            # Before prepare: an engine may convert the module in place (dtype, memory format).
            with torch.inference_mode():
                reference = _first_output(module(torch.from_numpy(array))).float().numpy()
    instance = ModelInstance(spec.model.name, module, spec.full_input_shape, extras)
    # Before prepare, for the same reason; the export it makes is the one ONNX engines load.
    t_cost = time.perf_counter()
    cost = worker_cost(instance) if payload.get("cost", True) else Cost.none("not requested")
    cost_s = time.perf_counter() - t_cost
    session = engine.prepare(instance, spec.target)
    inputs = session.make_inputs(array)
    prepare_s = time.perf_counter() - t_start - cost_s
    window = probe_window(probes)
    streams = None
    with session.context():
        # Requests in flight: the target's streams unless the payload asks for more (the tuner
        # keeps 2 requests per OpenVINO stream in flight, say).
        requests = int(payload.get("requests") or spec.target.streams)
        if requests > 1:
            timed = time_streams(session, inputs, requests, spec.batch, spec.budget, window=window)
            samples, warm = timed.latencies_ns, timed.warmup
            stop_reason = "max_samples" if timed.completed >= spec.budget.max_samples else "budget"
            rel_half_width = None  # computed from the merged samples by the parent
            streams = Streams(
                STREAMS_METHOD,
                timed.requests_in_flight,
                timed.completed,
                timed.seconds,
                timed.images_per_s,
            )
        else:
            timing = time_calls(session.timed_call(inputs), spec.budget, window=window)
            samples, warm = timing.samples_ns, timing.warmup
            stop_reason, rel_half_width = timing.stop_reason, timing.rel_half_width
        effective = session.effective()
        output = session.to_numpy(session.run(inputs)) if reference is not None else None
    agreement = None
    if reference is not None and output is not None:
        agreement = compare(reference, output, spec.target.precision)
    return WorkerResult(
        samples_ns=tuple(samples),
        warmup=Warmup(warm.calls, warm.seconds, warm.settled),
        stop_reason=stop_reason,
        rel_half_width=rel_half_width,
        prepare_s=prepare_s,
        streams=streams,
        effective=Effective.from_json(effective),
        cost=cost,
        agreement=agreement,
        engine_version=engine.version(),
        window_calls=len(samples),
        probes=(*unmade, *window.readings),
    ).to_json()
