"""Tables of profile records (mode ``profile``): time by layer type next to FLOPs, or every
layer; and the JSON view ``cnnbench profile --json`` writes."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from cnnbench.results.profile import Profile, type_shares
from cnnbench.results.record import ResultRecord


def _profile(rec: ResultRecord) -> Profile:
    if rec.profile is None:
        raise ValueError(f"run {rec.id} has no profile (mode {rec.spec.mode}, {rec.status})")
    return rec.profile


def _title(rec: ResultRecord) -> str:
    p = _profile(rec)
    threads = rec.effective.threads or rec.spec.target.threads or "?"
    distortion = "" if p.distortion is None else f", profiler distortion {p.distortion:+.1%}"
    return escape(
        f"{rec.spec.model.name} on {rec.spec.target.engine}, {threads} threads: "
        f"end-to-end {p.end_to_end_ms:.3f} ms, layers {p.layers_ms:.3f} ms, "
        f"overhead {p.overhead_ms:.3f} ms ({(p.overhead_share or 0):.1%}){distortion}"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def type_table(rec: ResultRecord) -> Table:
    """Share of end-to-end time and share of FLOPs per layer type, plus the overhead."""
    p = _profile(rec)
    table = Table(title=_title(rec), header_style="bold")
    for col in ("type", "layers", "time ms", "time share", "FLOPs share"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for t in type_shares(rec.layers, p.end_to_end_ms):
        table.add_row(
            escape(t.layer_type),
            str(t.layers) if t.layers else "-",
            f"{t.time_ms:.3f}",
            _share(t.time_share),
            _share(t.flops_share),
        )
    uncounted = sum(t.uncounted for t in type_shares(rec.layers, p.end_to_end_ms))
    if uncounted:
        table.caption = (
            f"FLOPs shares are of the counted layers; {uncounted} layer(s) have no FLOPs count "
            "(inserted by the engine, or outside the exported graph)"
        )
    return table


def layer_table(rec: ResultRecord) -> Table:
    """Every executed layer: type, median time, achieved GFLOP/s, kernel, MACs, sources."""
    table = Table(title=_title(rec), header_style="bold")
    for col in ("layer", "type", "time ms", "GFLOP/s", "kernel", "MACs", "sources"):
        left = col in ("layer", "type", "kernel", "sources")
        table.add_column(col, justify="left" if left else "right")
    for layer in rec.layers:
        rate = "-"
        if layer.flops is not None and layer.time_ms:
            rate = f"{layer.flops / (layer.time_ms * 1e6):.1f}"  # the whole batch's FLOPs
        table.add_row(
            escape(layer.name[:40]),
            escape(layer.layer_type),
            "-" if layer.time_ms is None else f"{layer.time_ms:.4f}",
            rate,
            escape((layer.kernel or "-")[:30]),
            "-" if layer.macs is None else f"{layer.macs:,}",
            escape(", ".join(layer.source_layers)[:50]),
        )
    return table


def profile_json(rec: ResultRecord) -> dict[str, Any]:
    """The record (without raw samples) and its time by layer type, for ``--json``."""
    out: dict[str, Any] = rec.to_json(samples=False)
    if rec.profile is not None:
        out["by_type"] = [
            {
                "layer_type": t.layer_type,
                "layers": t.layers,
                "time_ms": t.time_ms,
                "time_share": t.time_share,
                "flops": t.flops,
                "flops_share": t.flops_share,
                "uncounted_layers": t.uncounted,
            }
            for t in type_shares(rec.layers, rec.profile.end_to_end_ms)
        ]
    return out
