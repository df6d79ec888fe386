"""The LoadGen table: each scenario run's verdict, reasons, percentiles and rate."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from cnnbench.results.record import ResultRecord


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value >= 100 else f"{value:.3g}"


def loadgen_table(records: Sequence[ResultRecord]) -> Table:
    """One row per record with a ``loadgen`` section (LoadGen's own figures)."""
    table = Table(title="MLPerf LoadGen (its clock and verdict)", header_style="bold")
    for col in (
        "model",
        "engine",
        "scenario",
        "verdict",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "early-stop ms",
        "rate",
        "queries",
        "settings",
        "reasons",
    ):
        table.add_column(col, overflow="fold" if col == "reasons" else "ellipsis")
    for rec in records:
        lg = rec.loadgen
        if lg is None:
            continue
        style = "green" if lg.valid else "red"
        lat = lg.query_latency_ms or lg.latency_ms  # MultiStream judges whole queries
        if lg.samples_per_s is not None:
            rate = f"{lg.samples_per_s:.1f} samples/s"
        elif lg.qps is not None:
            rate = f"{lg.qps:.1f} queries/s"
        else:
            rate = "-"
        u = lg.settings
        settings = []
        if u.target_qps is not None:
            settings.append(f"qps {u.target_qps:g}")
        if u.latency_bound_ms is not None:
            settings.append(f"bound {u.latency_bound_ms:.3g} ms")
        if lg.peak_qps is not None:
            settings.append(f"peak {lg.peak_qps:g} qps")
        settings.append(f"min {u.min_duration_s:g} s/{u.min_queries} q")
        table.add_row(
            escape(rec.spec.model.name),
            escape(rec.spec.target.engine),
            lg.scenario,
            f"[{style}]{lg.verdict}[/{style}]",
            _ms(lat.get("p50")),
            _ms(lat.get("p90")),
            _ms(lat.get("p99")),
            _ms(lg.early_stopping_ms),
            rate,
            str(lg.query_count),
            escape(", ".join(settings)),
            escape("; ".join(lg.reasons)[:300]) or "-",
        )
    return table
