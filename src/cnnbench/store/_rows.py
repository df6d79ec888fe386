"""Records and peaks turned into rows, and checked, before any transaction begins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnbench.errors import BadInput, StoreError
from cnnbench.results._json import Fields
from cnnbench.results._json import dumps as strict_dumps
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import LayerRecord


@dataclass(frozen=True)
class _Rows:
    """One record as the rows it becomes: built and checked before any transaction begins."""

    run_id: str
    machine: tuple[str, str, str]
    run: tuple[object, ...]
    samples: tuple[str, int, bytes] | None
    layers: tuple[tuple[object, ...], ...] = ()


def _rows(rec: ResultRecord) -> _Rows:
    """The rows of ``rec``, or a :class:`StoreError` saying why it cannot be stored: a record
    that is not strict JSON (NaN, a value JSON cannot hold), an integer SQLite cannot store, or
    a record this store could not read back (so ``results show`` always works)."""
    try:
        doc = rec.to_json(samples=False)
        strict_dumps(doc)  # finite numbers, 64-bit integers, bounded nesting
        layers = doc.pop("layers", [])  # kept in the layers table, not in the run's JSON
        data = np.asarray(rec.samples_ms, dtype="<f8")
        if not np.isfinite(data).all():
            raise BadInput("samples_ms must be finite numbers")
        text = strict_dumps(doc)
        back = ResultRecord.from_json({**json.loads(text), "layers": layers})  # as read back
        machine = strict_dumps(rec.machine)
    except BadInput as exc:
        raise StoreError(f"record {rec.id} cannot be stored: {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise StoreError(f"record {rec.id} cannot be stored: {exc!r:.200}") from None
    spec, lat, machine_id = back.spec, back.latency_ms, str(back.machine["id"])
    samples = ("latency", data.size, data.tobytes()) if data.size else None
    return _Rows(
        run_id=back.id,
        machine=(machine_id, machine, back.created),
        run=(
            back.id,
            back.key,
            back.spec_hash,
            machine_id,
            back.created,
            back.status,
            spec.model.name,
            spec.target.engine,
            spec.target.device,
            spec.target.precision,
            spec.batch,
            spec.target.threads,
            spec.mode,
            lat.median if lat else None,
            lat.mean if lat else None,
            back.throughput_ips,
            text,
        ),
        samples=samples,
        layers=tuple(_layer_row(back.id, i, layer) for i, layer in enumerate(back.layers)),
    )


def _layer_row(run_id: str, position: int, layer: LayerRecord) -> tuple[object, ...]:
    return (
        run_id,
        position,
        layer.name,
        layer.layer_type,
        layer.time_ms,
        layer.calls,
        layer.kernel,
        layer.macs,
        layer.flops,
        layer.bytes,
        layer.energy_j,
        strict_dumps(list(layer.source_layers)),
    )


LAYER_COLUMNS = (
    "name",
    "layer_type",
    "time_ms",
    "calls",
    "kernel",
    "macs",
    "flops",
    "bytes",
    "energy_j",
    "source_layers",
)


def layer_json(row: tuple[object, ...]) -> dict[str, object]:
    """A layer's JSON (as :meth:`LayerRecord.to_json` writes it) from its row's columns."""
    d = dict(zip(LAYER_COLUMNS, row, strict=True))
    d["source_layers"] = json.loads(str(d["source_layers"]))
    return {k: v for k, v in d.items() if v is not None}


def _peak_rows(
    machine: dict[str, Any], peaks: list[dict[str, Any]], created: str
) -> tuple[tuple[str, str, str], list[tuple[object, ...]]]:
    """The machine row and peak rows of :meth:`Store.save_peaks`, checked before writing."""
    try:
        machine_id = machine.get("id")
        if not isinstance(machine_id, str) or not machine_id:
            raise BadInput(f"the machine id must be a non-empty string, got {machine_id!r:.40}")
        fingerprint = strict_dumps(machine)
        rows: list[tuple[object, ...]] = []
        for i, p in enumerate(peaks):
            f = Fields(p, f"peaks[{i}]")
            rows.append(
                (
                    machine_id,
                    f.string("kind"),
                    f.string("precision"),
                    f.number("value"),
                    f.string("unit"),
                    f.integer("threads", minimum=1),
                    f.string("method"),
                    created,
                )
            )
    except BadInput as exc:
        raise StoreError(f"peaks cannot be stored: {exc}") from None
    except (TypeError, AttributeError) as exc:
        raise StoreError(f"peaks cannot be stored: {exc!r:.200}") from None
    return (machine_id, fingerprint, created), rows
