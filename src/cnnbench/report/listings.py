"""Tables for the listing commands: machine, engines, models, one model's layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

from cnnbench.report.tables import key_value_table

if TYPE_CHECKING:
    from cnnbench.engines.base import EngineInfo
    from cnnbench.graph import NetworkCost
    from cnnbench.measure.probes.status import ProbeStatus


def _cache_kind(kind: str) -> str:
    return "" if kind == "unified" else kind[:1]


def machine_tables(
    m: dict[str, Any],
    software: dict[str, Any],
    probes: Sequence[ProbeStatus],
    peaks: Sequence[dict[str, Any]],
    notes: Sequence[str],
) -> list[Table]:
    caches = ", ".join(
        f"L{c['level']}{_cache_kind(c['type'])} {c['size_bytes'] // 1024} KiB" for c in m["caches"]
    )
    rows = [
        ("machine id", m["id"]),
        ("cpu", m["cpu_model"]),
        ("cores", f"{m['physical_cores']} physical, {m['logical_cores']} logical"),
        ("isa", " ".join(m["isa"]) or "none of note"),
        ("caches", caches or "unknown"),
        ("memory", f"{(m['memory_bytes'] or 0) / 2**30:.1f} GiB"),
        ("os", f"{m['os']} (kernel {m['kernel']})"),
        ("hypervisor", m["hypervisor"] or "none (bare metal)"),
        ("gpus", ", ".join(g["name"] for g in m["gpus"]) or "none"),
        ("software", ", ".join(f"{k} {v}" for k, v in software.items())),
    ]
    tables = [key_value_table(rows, title="machine")]
    probe_rows = [(p.name, ("yes: " if p.available else "no: ") + p.detail) for p in probes]
    tables.append(key_value_table(probe_rows, title="what can be measured here"))
    if peaks:
        peak_rows = [
            (
                f"{p['kind']} {p['precision']}".replace(" -", ""),
                f"{p['value']:.1f} {p['unit']} ({p['method']}, "
                + ("" if " threads" in p["method"] else f"{p['threads']} threads, ")
                + f"measured {p['created'][:19]})"
                if p["kind"] != "theoretical"  # an estimate: its method says so, with inputs
                else f"{p['value']:.1f} {p['unit']} ({p['method']})",
            )
            for p in peaks
        ]
        peak_rows += [("note", n) for n in notes]
        tables.append(key_value_table(peak_rows, title="peaks (roofline)"))
    return tables


def engines_table(infos: Sequence[EngineInfo]) -> Table:
    table = Table(header_style="bold")
    for col in ("engine", "installed", "version", "devices", "note"):
        table.add_column(col)
    for i in infos:
        mark = "[green]yes[/green]" if i.installed else "[red]no[/red]"
        table.add_row(i.name, mark, i.version or "-", ", ".join(i.devices) or "-", i.reason or "")
    return table


def models_table(rows: Sequence[dict[str, Any]]) -> Table:
    """``cnnbench models``: an incomplete MACs figure is a lower bound (``>= ``)."""
    table = Table(header_style="bold")
    numeric = ("params M", "MACs G", "conv", "fc")
    for col in ("model", "family", "input", "dataset", *numeric):
        table.add_column(col, justify="right" if col in numeric else "left")
    for r in rows:
        table.add_row(
            str(r["name"]),
            str(r["family"]),
            "x".join(str(d) for d in r["input_shape"]),
            str(r["dataset"]),
            f"{r['params'] / 1e6:.2f}",
            ("" if r.get("complete", True) else ">= ") + f"{r['macs'] / 1e9:.3f}",
            str(r["conv_layers"]),
            str(r["fc_layers"]),
        )
    return table


def detail_json(cost: NetworkCost) -> dict[str, Any]:
    """``models --detail NAME --json``: totals and one object per layer.

    ``complete`` is False when some node is uncounted or some shape unknown; ``totals`` then
    reads ``>= ... MACs, N nodes uncounted`` and ``macs``/``flops`` are lower bounds.
    """
    d = cost.to_dict(layers=True)
    d["layers"] = [
        {
            "name": layer["name"],
            "op": layer["op_type"],
            "type": layer["layer_type"],
            "macs": layer["macs"],
            "flops": layer["flops"],
            "params": layer["params"],
            "bytes": layer["weight_bytes"] + layer["input_bytes"] + layer["output_bytes"],
            "output_shape": layer.get("output_shapes"),
            "uncounted_reason": layer["uncounted_reason"],
        }
        for layer in d["layers"]
    ]
    return d


def layer_tables(cost: NetworkCost) -> list[Table]:
    """The per-layer table and the per-type totals of one network; an incomplete cost says
    ``>= ...`` in the title and names what is missing in the caption."""
    caption = None
    if not cost.complete:
        missing = [f"uncounted: {cost.uncounted_by_op()}"] if cost.uncounted else []
        missing += [f"shapes {cost.shapes}: {cost.shapes_note}"] if cost.shapes_note else []
        caption = "totals are lower bounds; " + "; ".join(missing)
    table = Table(title=cost.summary().splitlines()[0], caption=caption, header_style="bold")
    cols = ("#", "name", "op", "type", "MACs", "params", "weight B", "in B", "out B", "FLOP/B")
    for col in cols:
        table.add_column(col, justify="left" if col in ("name", "op", "type") else "right")
    for n, layer in enumerate(cost.layers):
        ai = layer.arithmetic_intensity
        table.add_row(
            str(n),
            layer.name[:40],
            layer.op_type,
            layer.layer_type,
            "uncounted" if layer.macs is None else f"{layer.macs:,}",
            f"{layer.params:,}",
            f"{layer.weight_bytes:,}",
            f"{layer.input_bytes:,}",
            f"{layer.output_bytes:,}",
            "-" if ai is None else f"{ai:.1f}",
        )
    title = "by layer type" if cost.complete else "by layer type (counted nodes only)"
    types = Table(title=title, header_style="bold")
    for col in ("type", "layers", "MACs", "MAC share"):
        types.add_column(col, justify="left" if col == "type" else "right")
    for name, t in sorted(cost.by_type.items(), key=lambda kv: -kv[1].macs):
        types.add_row(name, str(t.layers), f"{t.macs:,}", f"{t.mac_share:.1%}")
    return [table, types]
