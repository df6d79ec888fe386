"""Terminal tables (rich) for runs, engines, models and the machine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import JustifyMethod
from rich.markup import escape
from rich.table import Table

from cnnbench.results.meters import NOT_REQUESTED_COUNTERS, NOT_REQUESTED_ENERGY
from cnnbench.results.record import ResultRecord

STATUS_STYLE = {"ok": "green", "unsupported": "yellow"}


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:.1f}"
    if value >= 10:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


def gflops_per_s(rec: ResultRecord) -> float | None:
    """Achieved GFLOP/s: per-image FLOPs (cost) times images per second."""
    if rec.throughput_ips is None or not rec.cost.flops or rec.cost.lower_bound:
        return None  # a partial cost gives no GFLOP/s
    return rec.cost.flops * rec.throughput_ips / 1e9


def speedups(records: Sequence[ResultRecord]) -> list[float | None]:
    """Speed of each record against the first record of its comparison (same model, shape,
    batch and mode): latency median ratio, or images/s ratio in throughput mode."""
    first: dict[tuple[object, ...], ResultRecord] = {}
    out: list[float | None] = []
    for rec in records:
        s = rec.spec
        base = first.setdefault(s.comparison_key(), rec)
        if rec.status != "ok" or base.status != "ok":
            out.append(None)
        elif s.mode == "throughput" and rec.throughput_ips and base.throughput_ips:
            out.append(rec.throughput_ips / base.throughput_ips)
        elif rec.latency_ms and base.latency_ms:
            out.append(base.latency_ms.median / rec.latency_ms.median)
        else:
            out.append(None)
    return out


def agreement_cell(rec: ResultRecord) -> str:
    a = rec.agreement
    if a is None:
        return "-"
    if a.error is not None or a.max_rel_err is None:
        return "[red]shape[/red]" if "shape" in (a.error or "") else "[red]error[/red]"
    verdict = "[green]ok[/green]" if a.within_tolerance else "[red]drift[/red]"
    return f"{verdict} {a.max_rel_err:.0e}"


def energy_cell(rec: ResultRecord) -> str:
    """Joules per inference (dynamic where idle was measured) and the source; ``none``."""
    e = rec.energy
    value = e.dynamic_j_per_inference or e.j_per_inference
    if e.source == "none" or value is None:
        return "none"
    label = "dyn " if e.dynamic_j_per_inference else ""
    return f"{label}{value * 1e3:.3g} mJ ({e.source})"


def machine_names(records: Sequence[ResultRecord]) -> dict[str, str] | None:
    """A short name per machine id (its hostname, or the id where hostnames repeat) when the
    records come from several machines (a fleet), else None."""
    ids = list(dict.fromkeys(str(r.machine.get("id")) for r in records))
    if len(ids) < 2:
        return None
    hosts = {str(r.machine.get("id")): str(r.machine.get("hostname") or "") for r in records}
    unique = len(set(hosts.values())) == len(ids) and all(hosts.values())
    return {i: hosts[i] if unique else i[:12] for i in ids}


def runs_table(records: Sequence[ResultRecord], title: str | None = None) -> Table:
    table = Table(title=escape(title) if title else None, header_style="bold")
    energy = any(r.energy.reason != NOT_REQUESTED_ENERGY for r in records)
    named = any(r.spec.target.name for r in records)  # a study's named targets: a column
    machines = machine_names(records)
    columns: list[tuple[str, JustifyMethod]] = [("target", "left")] if named else []
    columns += [
        ("model", "left"),
        ("engine", "left"),
        *((("machine", "left"),) if machines else ()),
        ("mode", "left"),
        ("batch", "right"),
        ("thr", "right"),
        ("prec", "left"),
        ("status", "left"),
        ("median ms", "right"),
        ("CI95", "right"),
        ("mean ms", "right"),
        ("p99 ms", "right"),
        ("n", "right"),
        ("img/s", "right"),
        ("GFLOP/s", "right"),
        ("speedup", "right"),
        ("agreement", "left"),
        *((("energy/inf", "right"),) if energy else ()),
        ("notes", "left"),
    ]
    for col, justify in columns:
        wide = col in ("model", "notes", "target")
        table.add_column(
            col,
            justify=justify,
            no_wrap=True,
            overflow="ellipsis",
            min_width=None if wide else len(col),
            max_width=32 if wide else None,
        )
    for rec, speedup in zip(records, speedups(records), strict=True):
        s, lat = rec.spec, rec.latency_ms
        batch = str(s.batch)
        if s.mode == "throughput" and rec.throughput and rec.throughput.best_batch is not None:
            batch = f"{rec.throughput.best_batch}/{s.batch}"
        style = STATUS_STYLE.get(rec.status, "red")
        notes = (
            rec.error if rec.status != "ok" else "; ".join(w.split(":")[0] for w in rec.warnings)
        )
        if rec.loadgen is not None:  # LoadGen's verdict first
            notes = f"{rec.loadgen.verdict}; {notes}" if notes else rec.loadgen.verdict
        table.add_row(
            *((escape(s.target.name or "-"),) if named else ()),
            escape(s.model.name),
            escape(s.target.engine + ("" if s.target.device == "cpu" else f"/{s.target.device}")),
            *((escape(machines[str(rec.machine.get("id"))]),) if machines else ()),
            s.loadgen.scenario if s.loadgen is not None else s.mode,
            batch,
            str(rec.effective.threads or s.target.threads or "-"),
            rec.effective.precision or s.target.precision,
            f"[{style}]{rec.status}[/{style}]",
            _fmt(lat.median if lat else None),
            f"±{max(lat.median - lat.ci95[0], lat.ci95[1] - lat.median) / lat.median:.1%}"
            if lat and lat.median > 0
            else "-",
            _fmt(lat.mean if lat else None),
            _fmt(lat.p99 if lat else None),
            str(lat.n) if lat else "-",
            _fmt(rec.throughput_ips, 1),
            _fmt(gflops_per_s(rec), 1),
            f"{speedup:.2f}x" if speedup is not None else "-",
            agreement_cell(rec),
            *((escape(energy_cell(rec)),) if energy else ()),
            escape((notes or "")[:60]),
        )
    return table


def runs_list_table(records: Sequence[ResultRecord]) -> Table:
    table = Table(header_style="bold")
    for col in (
        "id",
        "created",
        "model",
        "engine",
        "mode",
        "batch",
        "status",
        "median ms",
        "img/s",
    ):
        table.add_column(col)
    for rec in records:
        s = rec.spec
        style = STATUS_STYLE.get(rec.status, "red")
        table.add_row(
            rec.id[:12],
            rec.created[:19].replace("T", " "),
            escape(s.model.name),
            escape(s.target.engine),
            s.mode,
            str(s.batch),
            f"[{style}]{rec.status}[/{style}]",
            _fmt(rec.latency_ms.median if rec.latency_ms else None),
            _fmt(rec.throughput_ips, 1),
        )
    return table


def key_value_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> Table:
    table = Table(title=escape(title) if title else None, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(escape(key), "-" if value is None else escape(str(value)))
    return table


def sweep_table(rec: ResultRecord) -> Table | None:
    if not rec.throughput:
        return None
    title = f"throughput sweep: {rec.spec.model.name} on {rec.spec.target.engine}"
    table = Table(title=escape(title))
    for col in ("batch", "status", "median ms", "img/s"):
        table.add_column(col, justify="right")
    for p in rec.throughput.sweep:
        table.add_row(str(p.batch), p.status, _fmt(p.median_ms), _fmt(p.images_per_s, 1))
    return table


def meter_lines(records: Sequence[ResultRecord]) -> list[str]:
    """One line per record and meter asked for: its figures with their source, or why none."""
    lines = []
    for rec in records:
        who = f"{rec.spec.model.name} on {rec.spec.target.engine}"
        e = rec.energy
        if e.reason != NOT_REQUESTED_ENERGY:
            if e.source == "none":
                lines.append(f"{who}: energy unavailable: {e.reason}")
            else:
                parts = [
                    f"{e.active_w:.3g} W active" if e.active_w else "",
                    f"{e.idle_w:.3g} W idle" if e.idle_w else "",
                    f"{e.images_per_j:.4g} images/J" if e.images_per_j else "",
                    f"{e.gflop_per_j:.4g} GFLOP/J" if e.gflop_per_j else "",
                ]
                basis = f" ({e.basis} energy)" if e.basis else ""
                figures = ", ".join(p for p in parts if p)
                lines.append(f"{who}: energy [{e.source}]{basis}: {figures}")
        c = rec.counters
        if c.reason != NOT_REQUESTED_COUNTERS:
            if c.source == "none":
                lines.append(f"{who}: counters unavailable: {c.reason}")
            else:
                per = ", ".join(f"{k} {v:.4g}" for k, v in c.per_inference.items())
                lines.append(f"{who}: counters [{c.source}] per inference: {per or '-'}")
    return lines
