"""Results as data: one flat row per record, units in the column names (pandas is optional).

:func:`record_rows` needs nothing beyond the package (the CSV export uses it);
:func:`records_frame` and :func:`load_results` need pandas (the ``report`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput
from cnnbench.report.labels import target_label
from cnnbench.results.record import ResultRecord

if TYPE_CHECKING:
    import pandas as pd

FILTERS = ("model", "engine", "status", "mode")

# Every column of a row, in order (samples_ms is added on request).
COLUMNS = (
    "id",
    "created",
    "status",
    "error",
    "model",
    "input_shape",
    "batch",
    "mode",
    "engine",
    "device",
    "precision",
    "threads",
    "streams",
    "cores",
    "isa",
    "options",
    "target",
    "spec_hash",
    "machine_id",
    "cpu_model",
    "precision_effective",
    "threads_effective",
    "median_ms",
    "mean_ms",
    "p90_ms",
    "p99_ms",
    "min_ms",
    "max_ms",
    "std_ms",
    "cv",
    "ci95_lo_ms",
    "ci95_hi_ms",
    "ci95_rel_half_width",
    "n",
    "throughput_ips",
    "best_batch",
    "cost_source",
    "macs",
    "flops",
    "params",
    "cost_complete",
    "gflops_per_s",
    "energy_source",
    "energy_j_per_inference",
    "gflop_per_j",
    "counters_source",
    "roofline_source",
    "fraction_of_peak",
    "max_rel_err",
    "within_tolerance",
    "layers",
    "overhead_ms",
    "profile_distortion",
    "warnings",
)


def record_row(rec: ResultRecord, *, samples: bool = False) -> dict[str, Any]:
    """One flat row: plain Python values (None where a figure is absent, never a zero)."""
    s, t, lat = rec.spec, rec.spec.target, rec.latency_ms
    energy = rec.energy.to_json()
    flops = rec.cost.flops if rec.cost.available and not rec.cost.lower_bound else None
    row: dict[str, Any] = {
        "id": rec.id,
        "created": rec.created,
        "status": rec.status,
        "error": rec.error,
        "model": s.model.name,
        "input_shape": "x".join(str(d) for d in s.input_shape),
        "batch": s.batch,
        "mode": s.mode,
        "engine": t.engine,
        "device": t.device,
        "precision": t.precision,
        "threads": t.threads,
        "streams": t.streams,
        "cores": ",".join(str(c) for c in t.cores) if t.cores is not None else None,
        "isa": t.isa,
        "options": json.dumps(dict(t.options), sort_keys=True) if t.options else None,
        "target": target_label(s),
        "spec_hash": rec.spec_hash,
        "machine_id": rec.machine.get("id"),
        "cpu_model": rec.machine.get("cpu_model"),
        "precision_effective": rec.effective.precision,
        "threads_effective": rec.effective.threads,
        "median_ms": lat.median if lat else None,
        "mean_ms": lat.mean if lat else None,
        "p90_ms": lat.p90 if lat else None,
        "p99_ms": lat.p99 if lat else None,
        "min_ms": lat.min if lat else None,
        "max_ms": lat.max if lat else None,
        "std_ms": lat.std if lat else None,
        "cv": lat.cv if lat else None,
        "ci95_lo_ms": lat.ci95[0] if lat else None,
        "ci95_hi_ms": lat.ci95[1] if lat else None,
        "ci95_rel_half_width": lat.rel_half_width if lat else None,
        "n": lat.n if lat else None,
        "throughput_ips": rec.throughput_ips,
        "best_batch": rec.throughput.best_batch if rec.throughput else None,
        "cost_source": rec.cost.source,
        "macs": rec.cost.macs,
        "flops": rec.cost.flops,
        "params": rec.cost.params,
        "cost_complete": rec.cost.complete,
        "gflops_per_s": flops * rec.throughput_ips / 1e9 if flops and rec.throughput_ips else None,
        "energy_source": rec.energy.source,
        "energy_j_per_inference": energy.get("joules_per_inference"),
        "gflop_per_j": energy.get("gflop_per_j"),
        "counters_source": rec.counters.source,
        "roofline_source": rec.roofline.source if rec.roofline else None,
        "fraction_of_peak": rec.roofline.fraction_of_peak if rec.roofline else None,
        "max_rel_err": rec.agreement.max_rel_err if rec.agreement else None,
        "within_tolerance": rec.agreement.within_tolerance if rec.agreement else None,
        "layers": len(rec.layers),
        "overhead_ms": rec.profile.overhead_ms if rec.profile else None,
        "profile_distortion": rec.profile.distortion if rec.profile else None,
        "warnings": " | ".join(rec.warnings) if rec.warnings else None,
    }
    if samples:
        row["samples_ms"] = list(rec.samples_ms)
    return row


def record_rows(records: Iterable[ResultRecord], *, samples: bool = False) -> list[dict[str, Any]]:
    return [record_row(r, samples=samples) for r in records]


def records_frame(records: Sequence[ResultRecord], *, samples: bool = False) -> pd.DataFrame:
    """A DataFrame of :func:`record_row` rows (the columns are there even with no records)."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("load_results needs pandas: pip install 'cnnbench[report]'") from None

    columns = [*COLUMNS, "samples_ms"] if samples else list(COLUMNS)
    return pd.DataFrame(record_rows(records, samples=samples), columns=columns)


def load_results(
    db: str | Path | None = None, *, samples: bool = False, **filters: str
) -> pd.DataFrame:
    """Every record of a store as a DataFrame, newest first: one row per record, flat columns
    with units in their names (``median_ms``, ``throughput_ips``, ``energy_j_per_inference``);
    ``samples=True`` adds ``samples_ms`` (the raw samples, a list per row).

    ``filters`` are columns of the store: ``model``, ``engine``, ``status``, ``mode``.
    ``db`` defaults to ``$CNNBENCH_DB`` or ``./cnnbench.db``; a missing store is an error.
    """
    from cnnbench.store.sqlite import Store, default_path

    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise BadInput(f"unknown filter(s) {', '.join(unknown)}; known: {', '.join(FILTERS)}")
    path = Path(db) if db is not None else default_path()
    with Store(path, create=False) as store:
        records = store.query(**filters, samples=samples)  # type: ignore[arg-type]
    return records_frame(records, samples=samples)
