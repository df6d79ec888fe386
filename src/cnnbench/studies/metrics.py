"""What a study can ask for, and how each metric becomes run specs.

* ``latency``: single synchronous calls at each of the study's batches (mode ``latency``);
* ``throughput``: the batch sweep up to ``max_batch`` (mode ``throughput``, seed 000's maximum
  throughput);
* ``layers``: per-layer time from the engine's own profiler beside the unprofiled end-to-end
  time (mode ``profile``: the layer-type breakdown and the overhead);
* ``workload``: the time of a whole workload of ``workload_images`` images (seed 002): a latency
  measurement at ``workload_batch`` with exactly ``ceil(images / batch)`` timed requests;
* ``energy``, ``counters``: see :data:`PENDING` below.
"""

from __future__ import annotations

METRICS = ("latency", "throughput", "layers", "workload", "energy", "counters")

MODE_OF = {"latency": "latency", "throughput": "throughput", "layers": "profile"}

# ---------------------------------------------------------------------------------------------
# WIRING POINT for issue 11 (energy and hardware counters, built on another branch).
# Until the probes land, a study that names these metrics plans nothing for them and reports
# each as unavailable with the reason below (in the summary and in --json). To wire them: move
# the metric from PENDING to PROBES with the probe names that measure it (for example
# "energy": ("rapl",), "counters": ("cachegrind",)); the planner then adds those probes to the
# study's latency specs, and the record's energy / counters sections carry the figures (or their
# own reasons when this machine cannot measure them).
PENDING: dict[str, str] = {
    "energy": "energy probes (RAPL, NVML) are not wired into studies yet (issue 11)",
    "counters": "counter probes (perf, cachegrind) are not wired into studies yet (issue 11)",
}
PROBES: dict[str, tuple[str, ...]] = {}
# ---------------------------------------------------------------------------------------------


def probes_for(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The probes the latency specs of a study carry for its wired energy/counter metrics."""
    out: list[str] = []
    for metric in metrics:
        out += [p for p in PROBES.get(metric, ()) if p not in out]
    return tuple(out)


def unavailable(metrics: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(metric, reason) for each named metric this version cannot measure in a study."""
    return tuple((m, PENDING[m]) for m in metrics if m in PENDING and m not in PROBES)
