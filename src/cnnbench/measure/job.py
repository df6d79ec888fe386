"""Worker entries: what runs inside the child process (see :mod:`cnnbench.measure.worker`).

:func:`run_measurement` returns a :class:`~cnnbench.results.worker.WorkerResult` as JSON: the
samples, the engine's effective settings, the agreement with the torch reference, the readings
of the spec's in-worker probes (around the timed window) and the cost section, computed here
from the graph cost model of the very ONNX file the ONNX engines run, outside the timed window.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnbench.errors import Unsupported
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


def worker_cost(
    instance: ModelInstance, graph: tuple[NetworkCost | None, str | None] | None = None
) -> Cost:
    """Per-image cost section from :func:`graph_cost`'s result (computed when not given). Any
    failure gives a cost with source ``none`` and the reason; the measurement goes on."""
    cost, reason = graph if graph is not None else graph_cost(instance)
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
    parent's), bound to the run's device, and a reading with source none for each that could
    not be made."""
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
    graph = graph_cost(instance) if payload.get("cost", True) or profiling else (None, None)
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
        if spec.loadgen is not None:
            run = run_loadgen(
                session, inputs, spec.loadgen, spec.batch, spec.target.streams, window=window
            )
            samples, warm, loadgen = run.samples_ns, run.warmup, run.result
            stop_reason, rel_half_width = "loadgen", None
        elif spec.target.streams > 1:
            timed = time_streams(
                session, inputs, spec.target.streams, spec.batch, spec.budget, window=window
            )
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
        effective = session.effective()
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
            cost=graph[0],
            end_to_end_ms=statistics.median(samples) / 1e6,
            folded_bn=folded_bn,
        )
    elif profiling:  # after the timed window, so no profiler ever touches the timed calls
        layers, profile = profile_session(
            session,
            inputs,
            calls=spec.budget.profile_calls,
            engine=spec.target.engine,
            cost=graph[0],
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
