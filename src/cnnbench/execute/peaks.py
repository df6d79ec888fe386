"""Measuring this machine's peaks in workers and caching them in the store (parent side).

Each part (one GEMM library, then the copy bandwidth and the theoretical estimate) runs in its
own worker: no library's idle thread pool spins against the next one's, and a library that
crashes costs its own figures, named in the notes, not the others'.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

from cnnbench.errors import CnnbenchError
from cnnbench.measure.isolation import run_worker
from cnnbench.results.record import now_iso
from cnnbench.system.gemm import Candidate
from cnnbench.system.peaks import PARTS, Peak, assemble, cpu_busy_seconds, load_note

PEAKS_ENTRY = "cnnbench.system.peaks:measure_peaks"
PART_TIMEOUT_S = 300.0


def _cpu_seconds() -> tuple[float, float, float] | None:
    """(busy CPU seconds of the whole machine, ours and our children's, wall clock)."""
    try:
        busy = cpu_busy_seconds(Path("/proc/stat").read_text(), os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        return None
    own = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    return busy, own, time.monotonic()


def measure_parts(payload: dict[str, Any] | None = None) -> tuple[list[Peak], list[str]]:
    """Every part of :data:`PARTS` in its own worker, assembled into peaks and notes; a note
    when other work competed for the CPUs meanwhile."""
    before = _cpu_seconds()
    candidates: list[Candidate] = []
    other: list[Peak] = []
    notes: list[str] = []
    for part in PARTS:
        outcome = run_worker(
            PEAKS_ENTRY, {**(payload or {}), "parts": [part]}, timeout_s=PART_TIMEOUT_S
        )
        if outcome.status != "ok":
            notes.append(f"{part}: peak worker {outcome.status}: {outcome.error}")
            continue
        candidates += [Candidate.from_json(c) for c in outcome.result["candidates"]]
        other += [Peak(**p) for p in outcome.result["peaks"] if p["kind"] != "compute"]
        notes += outcome.result["measure_notes"]
    if not candidates:
        raise CnnbenchError("peak measurement: no GEMM library gave a figure; " + "; ".join(notes))
    after = _cpu_seconds()
    if before and after:
        busy, own, wall = (b - a for a, b in zip(before, after, strict=True))
        note = load_note(busy, own, wall, os.cpu_count() or 1)
        notes += [note] if note else []
    return assemble(candidates, other, notes)


def measure_and_store(
    store: Any, machine: dict[str, Any], payload: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Measure the peaks in workers, replace this machine's cached ones, return them."""
    peaks, notes = measure_parts(payload)
    store.save_peaks(machine, [p.to_dict() for p in peaks], now_iso())
    return store.peaks(machine["id"]), notes
