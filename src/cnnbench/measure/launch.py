"""One spec in one isolated worker: the call every executor makes, here or on a fleet node.

The worker runs :data:`MEASURE_ENTRY` with the spec; threads, CPU affinity and ISA caps are set
before any engine loads (:mod:`cnnbench.measure.isolation`); the spec's launcher probes
(``cachegrind``, ``perf stat``) wrap the worker process, its window probes run inside it.
"""

from __future__ import annotations

import os
from dataclasses import replace

from cnnbench.measure.forkserver import TemplatePool
from cnnbench.measure.isolation import WarmStart, WorkerOutcome, run_worker
from cnnbench.measure.probes.base import LauncherProbe, ProbeReading, SideProbe, get_probe
from cnnbench.spec import RunSpec

MEASURE_ENTRY = "cnnbench.measure.job:run_measurement"
# What every measurement imports before its engine loads: a template imports it once
# (forkserver). Not the engines' runtimes: onnxruntime and openvino leave threads on import.
MEASURE_PRELOAD = ("cnnbench.measure.job", "torch", "cnnbench.engines")
BASE_TIMEOUT_S = 180.0  # model build, export and engine compilation of a large network
BUDGET_FACTOR = 4  # warm-up (up to a quarter of the budget or more), budget, agreement, margin
LOADGEN_FIND_PEAK_RUNS = 24  # runs of a FindPeakPerformance search: boundaries, then bisection
LOADGEN_MARGIN_S = 30.0  # calibration, LoadGen's set-up and its final queries
SIDE_TIMEOUT_ENV = "CNNBENCH_COUNTERS_TIMEOUT_S"
SIDE_TIMEOUT_S = 900.0  # each cachegrind worker (tens of times slower than the CPU): small nets


def default_timeout_s(spec: RunSpec) -> float:
    """Model build, export, warm-up, budget and summary, with a margin for slow networks;
    a LoadGen run adds its longest duration (each run of a FindPeakPerformance search)."""
    timeout = BASE_TIMEOUT_S + BUDGET_FACTOR * spec.budget.seconds
    if spec.loadgen is not None:
        runs = LOADGEN_FIND_PEAK_RUNS if spec.loadgen.find_peak else 1
        timeout += runs * (spec.loadgen.max_duration_s + LOADGEN_MARGIN_S)
    return timeout


def launcher_probes(spec: RunSpec) -> list[LauncherProbe]:
    """The spec's probes that wrap the worker process (the others run inside it).

    Launcher probes run in the parent, so only registered ones qualify: a ``module:Class``
    probe of one's own is imported in the worker alone, as a window probe.
    """
    out: list[LauncherProbe] = []
    for ref in spec.probes:
        if ":" in ref:
            continue
        cls = get_probe(ref)
        if issubclass(cls, LauncherProbe):
            out.append(cls())
    return out


def side_probes(spec: RunSpec) -> list[SideProbe]:
    """The spec's probes measured by workers of their own (cachegrind's differential)."""
    out: list[SideProbe] = []
    for ref in spec.probes:
        if ":" in ref:
            continue
        cls = get_probe(ref)
        if issubclass(cls, SideProbe):
            out.append(cls())
    return out


def run_spec(
    spec: RunSpec,
    timeout_s: float | None = None,
    *,
    cost: bool = True,
    warm: bool = True,
    pool: TemplatePool | None = None,
    requests: int | None = None,
    agreement: bool = True,
) -> WorkerOutcome:
    """Measure ``spec`` in a fresh worker and classify how it ended; without ``cost`` the
    worker skips the cost model (and, on torch, the export it needs). With ``warm`` the worker
    is forked from a pre-imported template of its environment when one can serve it.
    ``requests`` keeps that many requests in flight (default: the target's streams); without
    ``agreement`` the worker skips the torch reference run. Side probes run after a
    successful measurement, their readings added to the outcome's."""
    outcome = _measure(spec, timeout_s, cost, warm, pool, requests, agreement)
    sides = side_probes(spec)
    if not sides:
        return outcome
    limit = float(os.environ.get(SIDE_TIMEOUT_ENV, SIDE_TIMEOUT_S))
    readings: list[ProbeReading] = []
    for probe in sides:
        if outcome.status != "ok":
            why = f"not run: the measurement ended with status {outcome.status}"
            readings.append(ProbeReading.unavailable(probe.name, probe.kind, why))
            continue
        try:
            readings.append(probe.measure(spec.to_dict(), limit))
        except Exception as exc:
            why = f"failed: {type(exc).__name__}: {exc}"
            readings.append(ProbeReading.unavailable(probe.name, probe.kind, why))
    return replace(outcome, probe_readings=(*outcome.probe_readings, *readings))


def _measure(
    spec: RunSpec,
    timeout_s: float | None,
    cost: bool,
    warm: bool,
    pool: TemplatePool | None,
    requests: int | None,
    agreement: bool,
) -> WorkerOutcome:
    t = spec.target
    return run_worker(
        MEASURE_ENTRY,
        {"spec": spec.to_dict(), "cost": cost, "requests": requests, "agreement": agreement},
        timeout_s=timeout_s or default_timeout_s(spec),
        threads=t.threads,
        cores=t.cores,
        isa=t.isa,
        launchers=launcher_probes(spec),
        warm=WarmStart(MEASURE_PRELOAD) if warm else None,
        pool=pool,
    )
