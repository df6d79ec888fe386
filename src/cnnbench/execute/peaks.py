"""Measuring this machine's peaks in a worker and caching them in the store (parent side)."""

from __future__ import annotations

from typing import Any

from cnnbench.errors import CnnbenchError
from cnnbench.measure.isolation import run_worker
from cnnbench.results.record import now_iso

PEAKS_ENTRY = "cnnbench.system.peaks:measure_peaks"
PEAKS_TIMEOUT_S = 600.0


def measure_and_store(
    store: Any, machine: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Measure the peaks in a worker, replace this machine's cached ones, return them."""
    outcome = run_worker(PEAKS_ENTRY, {}, timeout_s=PEAKS_TIMEOUT_S)
    if outcome.status != "ok":
        raise CnnbenchError(f"peak measurement {outcome.status}: {outcome.error}")
    store.save_peaks(machine, outcome.result["peaks"], now_iso())
    return store.peaks(machine["id"]), list(outcome.result.get("notes", []))
