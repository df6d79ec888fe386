"""Terminal tables of a study: its summary and its findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from cnnbench.studies.findings import Finding

FINDINGS_SHOWN = 8  # per kind; --json has them all


def summary_table(summary: Mapping[str, Any]) -> Table:
    title = f"study {summary['study']}" + (" (quick)" if summary.get("quick") else "")
    table = Table(title=escape(title), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    failed = summary["failed"]
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(summary["failed_by_status"].items()))
    rows = [
        ("configurations", str(summary["points"])),
        ("measured", str(summary["measured"])),
        ("skipped", f"{summary['skipped']} (already measured on this machine)"),
        ("failed", f"{failed} ({by_status})" if failed else "0"),
        ("time", f"{summary['seconds']:.1f} s"),
    ]
    rows += [("not planned", note) for note in summary.get("not_planned", ())]
    rows += [(f"{m}", f"unavailable: {why}") for m, why in summary.get("unavailable", {}).items()]
    for key, value in rows:
        table.add_row(escape(key), escape(value))
    return table


def findings_table(findings: Sequence[Finding], title: str = "findings") -> Table:
    table = Table(title=escape(title), header_style="bold", show_lines=False)
    for col in ("finding", "significant", "statement", "sources"):
        table.add_column(col, overflow="fold")
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for f in findings:
        if shown.get(f.kind, 0) >= FINDINGS_SHOWN:
            hidden[f.kind] = hidden.get(f.kind, 0) + 1
            continue
        shown[f.kind] = shown.get(f.kind, 0) + 1
        sig = "-" if f.significant is None else ("yes" if f.significant else "no")
        table.add_row(
            escape(f.kind), sig, escape(f.statement), escape(" ".join(s[:8] for s in f.sources[:4]))
        )
    for kind, n in hidden.items():
        table.add_row(escape(kind), "", f"... and {n} more (see --json)", "")
    return table
