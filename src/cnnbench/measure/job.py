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
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnbench._fs import atomic_write
from cnnbench.errors import BadInput, Unsupported
from cnnbench.graph.export import SEED
from cnnbench.graph.source import FOLD_BN_KEY
from cnnbench.measure.agreement import compare
from cnnbench.measure.probes.base import (
    Probe,
    ProbeReading,
    get_probe,
    probe_window,
)
from cnnbench.measure.profile_job import profile_session, replay_session
from cnnbench.results.effective import Effective
from cnnbench.results.loadgen import LoadgenResult
from cnnbench.results.rounds import Warmup
from cnnbench.results.sections import Cost, LayerRecord
from cnnbench.results.speed import Streams
from cnnbench.results.worker import WorkerResult
from cnnbench.spec import RunSpec
from cnnbench.system import malloc
from cnnbench.system.fingerprint import parse_cpuinfo
from cnnbench.system.isa import missing_flags

if TYPE_CHECKING:
    from cnnbench.graph.cost import NetworkCost
    from cnnbench.models.instance import ModelInstance

INPUT_SEED = 0
COST_SOURCE = "cnnbench.graph ONNX cost model (BatchNorm folded by the exporter)"
COST_SOURCE_UNFOLDED = "cnnbench.graph ONNX cost model (BatchNorm kept, as the engine runs it)"
COST_REASON_LIMIT = 500
STREAMS_METHOD = "requests in flight (engine's infer queue: its asynchronous API or threads)"


def graph_cost(instance: ModelInstance) -> tuple[NetworkCost | None, str | None]:
    """The graph cost model of the ONNX file the engine runs (the cached export of the
    instance's module made the way ``extras["fold_bn"]`` says, made here if no engine made it
    yet, or the user's own .onnx file), or None and the reason it failed."""
    from cnnbench.graph.cost import network_cost
    from cnnbench.graph.source import source_onnx

    try:
        return network_cost(source_onnx(instance).path), None
    except Exception as exc:
        return None, f"cost model failed: {type(exc).__name__}: {exc}"[:COST_REASON_LIMIT]


def _cost_cache_path(onnx: Path) -> Path:
    """Where the cost of one ONNX file is kept: keyed by its path, size and modification time
    (an export's name is already a content hash) and the cost model's format."""
    from cnnbench.graph.export import cache_dir
    from cnnbench.graph.summary import SUMMARY_FORMAT

    st = onnx.stat()
    key = json.dumps([str(onnx.resolve()), st.st_size, st.st_mtime_ns, SUMMARY_FORMAT, COST_SOURCE])
    return cache_dir().parent / "cost" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def worker_cost(
    instance: ModelInstance, graph: tuple[NetworkCost | None, str | None] | None = None
) -> Cost:
    """Per-image cost section of the ONNX file the engine runs (see :func:`graph_cost`).

    The section of a file is computed once and kept beside the exports (a sweep's later
    configurations of the same model read it); ``graph`` (a cost model already computed, as a
    profile needs one) skips the cache. Any failure gives a cost with source ``none`` and the
    reason; the measurement goes on.
    """
    from cnnbench.graph.source import source_onnx

    try:
        cache = _cost_cache_path(source_onnx(instance).path)
    except Exception as exc:
        return Cost.none(f"cost model failed: {type(exc).__name__}: {exc}"[:COST_REASON_LIMIT])
    if graph is None:
        with contextlib.suppress(OSError, ValueError, BadInput):
            return Cost.from_json(json.loads(cache.read_text()))  # a damaged file: recomputed
        graph = graph_cost(instance)
    section = _cost_section(instance, graph)
    if section.available:
        with contextlib.suppress(OSError):
            atomic_write(cache, json.dumps(section.to_json()))
    return section


def _cost_section(instance: ModelInstance, graph: tuple[NetworkCost | None, str | None]) -> Cost:
    cost, reason = graph
    if cost is None:
        return Cost.none(reason or "cost model failed")
    if any(not isinstance(d, int) or d < 1 for d in cost.input_shape):
        return Cost.none("the ONNX graph has symbolic dimensions")
    per = cost.batch
    folded = bool(instance.extras.get(FOLD_BN_KEY, True))
    return Cost(
        source=COST_SOURCE if folded else COST_SOURCE_UNFOLDED,
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


def window_probes(
    names: tuple[str, ...], device: str = "cpu"
) -> tuple[list[Probe], list[ProbeReading]]:
    """The spec's probes that wrap the timed window (launcher and side probes are the
    parent's), bound to the run's device, then the load probe (every run's, innermost: other
    work during the window), and a reading with source none for each that could not be made."""
    from cnnbench.measure.probes.load import load_probe
    from cnnbench.measure.probes.perf import control_from_env

    probes: list[Probe] = []
    failed: list[ProbeReading] = []
    control = control_from_env()  # the worker runs under perf stat: count the window only
    if control is not None:
        probes.append(control)
    for name in names:
        cls = get_probe(name)
        if not issubclass(cls, Probe):
            if ":" in name:  # an outside class cannot wrap the worker: that runs in the parent
                reason = "a launcher probe must be registered; outside classes run in the worker"
                failed.append(ProbeReading.unavailable(cls.name, cls.kind, reason))
            continue
        try:
            probe = cls()
            probe.bind(device)
            probes.append(probe)
        except Exception as exc:
            reason = f"could not be made: {type(exc).__name__}: {exc}"
            failed.append(ProbeReading.unavailable(cls.name, cls.kind, reason))
    if "load" not in names:
        probes += load_probe()
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
    allocator = malloc.apply(malloc.setting_of(spec.target.options))  # before anything is built
    if spec.loadgen is not None:
        from cnnbench.measure.loadgen import import_loadgen, run_loadgen

        import_loadgen()  # a missing extra is unsupported before any model is built
    engine = get_engine(spec.target.engine)()
    probes, unmade = window_probes(spec.probes, spec.target.device)
    t_start = time.perf_counter()
    info = get_model_info(spec.model.name, spec.input_shape)
    array = np.random.default_rng(INPUT_SEED).standard_normal(
        spec.full_input_shape, dtype=np.float32
    )
    module = None
    folded_bn = engine.folds_batchnorm(spec.target)
    extras: dict[str, Any] = {FOLD_BN_KEY: folded_bn}
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
    profiling = spec.mode in ("profile", "replay")
    graph = graph_cost(instance) if profiling else None  # the layers need the whole cost model
    cost = worker_cost(instance, graph) if payload.get("cost", True) else Cost.none("not requested")
    cost_s = time.perf_counter() - t_cost
    session = engine.prepare(instance, spec.target)
    inputs = session.make_inputs(array)
    prepare_s = time.perf_counter() - t_start - cost_s
    for probe in probes:  # loaded, not inferring: an energy meter's idle power
        probe.baseline()
    min_window_s = max((p.min_window_s for p in probes), default=0.0)
    extra_calls = 0
    window = probe_window(probes)
    streams = None
    loadgen: LoadgenResult | None = None
    with session.context():
        # Requests in flight: the target's streams unless the payload asks for more (the tuner
        # keeps 2 requests per OpenVINO stream in flight, say).
        requests = int(payload.get("requests") or spec.target.streams)
        if spec.loadgen is not None:
            run = run_loadgen(
                session, inputs, spec.loadgen, spec.batch, spec.target.streams, window=window
            )
            samples, warm, loadgen = run.samples_ns, run.warmup, run.result
            stop_reason, rel_half_width = "loadgen", None
        elif requests > 1:
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
            timing = time_calls(
                session.timed_call(inputs), spec.budget, window=window, min_window_s=min_window_s
            )
            samples, warm, extra_calls = timing.samples_ns, timing.warmup, timing.extra_calls
            stop_reason, rel_half_width = timing.stop_reason, timing.rel_half_width
        effective = {**session.effective(), "malloc": allocator}
        output = session.to_numpy(session.run(inputs)) if reference is not None else None
    layers: tuple[LayerRecord, ...] = ()
    profile = None
    if spec.mode == "replay":  # after the whole network's timed window
        layers, profile = replay_session(
            engine,
            spec,
            session,
            inputs,
            instance,
            probes=probes,
            cost=graph[0] if graph else None,
            end_to_end_ms=statistics.median(samples) / 1e6,
            folded_bn=folded_bn,
        )
    elif profiling:  # after the timed window, so no profiler ever touches the timed calls
        layers, profile = profile_session(
            session,
            inputs,
            calls=spec.budget.profile_calls,
            engine=spec.target.engine,
            cost=graph[0] if graph else None,
            end_to_end_ms=statistics.median(samples) / 1e6,
            folded_bn=folded_bn,
        )
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
        window_calls=len(samples) + extra_calls,
        probes=(*unmade, *window.readings),
        layers=layers,
        profile=profile,
        loadgen=loadgen,
    ).to_json()
