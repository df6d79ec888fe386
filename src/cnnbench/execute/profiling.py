"""Profiles of specs, each in its own worker (``cnnbench profile``); nothing is stored yet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cnnbench.measure.isolation import run_worker
from cnnbench.measure.launch import default_timeout_s
from cnnbench.spec import RunSpec

PROFILE_ENTRY = "cnnbench.measure.profile_job:run_profile"


def profile_specs(
    specs: Sequence[RunSpec],
    calls: int,
    *,
    timeout_s: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One profile per spec (JSON objects); a spec that fails gives its status and error."""
    out: list[dict[str, Any]] = []
    for spec in specs:
        t = spec.target
        if progress:
            progress(f"profiling {spec.model.name} on {t.engine}, {t.threads or 'default'} threads")
        outcome = run_worker(
            PROFILE_ENTRY,
            {"spec": spec.to_dict(), "calls": calls},
            timeout_s=timeout_s or default_timeout_s(spec),
            threads=t.threads,
            cores=t.cores,
            isa=t.isa,
        )
        if outcome.status == "ok":
            out.append({"status": "ok", **outcome.result})
        else:
            out.append(
                {
                    "status": outcome.status,
                    "error": outcome.error,
                    "model": spec.model.name,
                    "engine": t.engine,
                    "threads": t.threads,
                }
            )
    return out
