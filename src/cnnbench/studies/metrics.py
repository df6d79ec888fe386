"""What a study can ask for, and how each metric becomes run specs.

* ``latency``: single synchronous calls at each of the study's batches (mode ``latency``);
* ``throughput``: the batch sweep up to ``max_batch`` (mode ``throughput``, seed 000's maximum
  throughput);
* ``layers``: per-layer time from the engine's own profiler beside the unprofiled end-to-end
  time (mode ``profile``: the layer-type breakdown and the overhead);
* ``workload``: the time of a whole workload of ``workload_images`` images (seed 002): a latency
  measurement at ``workload_batch`` with exactly ``ceil(images / batch)`` timed requests;
* ``energy``, ``counters``: probes on the latency specs (:data:`PROBES`).
"""

from __future__ import annotations

METRICS = ("latency", "throughput", "layers", "workload", "energy", "counters")

MODE_OF = {"latency": "latency", "throughput": "throughput", "layers": "profile"}

# Energy and counters are probes on the study's latency specs: ``energy`` (RAPL on CPUs, NVML on
# CUDA devices, idle power subtracted) and ``perf`` (hardware events on the timed window). Where
# this machine has no meter or no PMU the records say so (source ``none`` with the reason); a
# study that wants simulated counts instead names the metric ``counters`` and runs
# ``cnnbench run --counters cachegrind`` on its small networks (minutes per network).
PENDING: dict[str, str] = {}
PROBES: dict[str, tuple[str, ...]] = {"energy": ("energy",), "counters": ("perf",)}


def probes_for(metrics: tuple[str, ...]) -> tuple[str, ...]:
    """The probes the latency specs of a study carry for its wired energy/counter metrics."""
    out: list[str] = []
    for metric in metrics:
        out += [p for p in PROBES.get(metric, ()) if p not in out]
    return tuple(out)


def unavailable(metrics: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(metric, reason) for each named metric this version cannot measure in a study."""
    return tuple((m, PENDING[m]) for m in metrics if m in PENDING and m not in PROBES)
