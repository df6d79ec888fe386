"""Tables of ``cnnbench profile``: time by layer type next to FLOPs, or every layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table


def _title(p: Mapping[str, Any]) -> str:
    return escape(
        f"{p['model']} on {p['engine']}, {p.get('threads') or '?'} threads: "
        f"end-to-end {p['end_to_end_ms']:.3f} ms, layers {p['layers_ms']:.3f} ms, "
        f"overhead {p['overhead_ms']:.3f} ms ({(p.get('overhead_share') or 0):.1%})"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def type_table(p: Mapping[str, Any]) -> Table:
    """Share of end-to-end time and share of FLOPs per layer type, plus the overhead."""
    table = Table(title=_title(p), header_style="bold")
    for col in ("type", "time ms", "time share", "FLOPs share"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for kind, t in p["by_type"].items():
        table.add_row(
            escape(kind), f"{t['time_ms']:.3f}", _share(t["time_share"]), _share(t["flops_share"])
        )
    table.add_row("overhead", f"{p['overhead_ms']:.3f}", _share(p.get("overhead_share")), "-")
    return table


def layer_table(p: Mapping[str, Any]) -> Table:
    """Every executed layer: type, median time, kernel, MACs, source layers."""
    table = Table(title=_title(p), header_style="bold")
    for col in ("layer", "type", "time ms", "kernel", "MACs", "sources"):
        table.add_column(col, justify="right" if col in ("time ms", "MACs") else "left")
    for layer in p["layers"]:
        sources = ", ".join(layer.get("source_layers") or [])
        table.add_row(
            escape(str(layer["name"])[:40]),
            escape(layer["layer_type"]),
            f"{layer.get('time_ms') or 0:.4f}",
            escape(str(layer.get("kernel") or "-")[:30]),
            "-" if layer.get("macs") is None else f"{layer['macs']:,}",
            escape(sources[:50]),
        )
    return table
