"""One spec in one isolated worker: the call every executor makes, here or on a fleet node.

The worker runs :data:`MEASURE_ENTRY` with the spec; threads, CPU affinity and ISA caps are set
before any engine loads (:mod:`cnnbench.measure.isolation`); the spec's launcher probes
(``cachegrind``, ``perf stat``) wrap the worker process, its window probes run inside it.
"""

from __future__ import annotations

from cnnbench.measure.isolation import WorkerOutcome, run_worker
from cnnbench.measure.probes.base import LauncherProbe, get_probe
from cnnbench.spec import RunSpec

MEASURE_ENTRY = "cnnbench.measure.job:run_measurement"
BASE_TIMEOUT_S = 180.0  # model build, export and engine compilation of a large network
BUDGET_FACTOR = 4  # warm-up (up to a quarter of the budget or more), budget, agreement, margin
LOADGEN_FIND_PEAK_RUNS = 24  # runs of a FindPeakPerformance search: boundaries, then bisection
LOADGEN_MARGIN_S = 30.0  # calibration, LoadGen's set-up and its final queries


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


def run_spec(spec: RunSpec, timeout_s: float | None = None, *, cost: bool = True) -> WorkerOutcome:
    """Measure ``spec`` in a fresh worker and classify how it ended; without ``cost`` the
    worker skips the cost model (and, on torch, the export it needs)."""
    t = spec.target
    return run_worker(
        MEASURE_ENTRY,
        {"spec": spec.to_dict(), "cost": cost},
        timeout_s=timeout_s or default_timeout_s(spec),
        threads=t.threads,
        cores=t.cores,
        isa=t.isa,
        launchers=launcher_probes(spec),
    )
