"""The terminal table of a comparison (rich); the same rows the report's table shows."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from cnnbench.report.compare import FASTER, SLOWER, Comparison
from cnnbench.report.sections_compare import COMPARISON_COLUMNS, comparison_rows

STYLE = {FASTER: "green", SLOWER: "red"}


def comparison_table(c: Comparison) -> Table:
    table = Table(title=escape(f"{c.b_label} against {c.a_label}"), header_style="bold")
    for col in COMPARISON_COLUMNS:
        table.add_column(
            col, justify="right" if col in ("speedup of B", "CI95") else "left", overflow="fold"
        )
    verdicts = [p.speedup.verdict for p in c.pairs]
    g = c.geomean
    if g is not None:
        verdicts.append(g.verdict)
    for row, verdict in zip(comparison_rows(c), verdicts, strict=True):
        cells = [escape(x) for x in row]
        style = "bold red" if "REGRESSION" in row[5] else STYLE.get(verdict)
        if style:
            cells[5] = f"[{style}]{cells[5]}[/{style}]"
        table.add_row(*cells)
    return table


def comparison_json(c: Comparison) -> dict[str, object]:
    """The comparison as JSON (``--json``)."""
    g = c.geomean
    return {
        "a": c.a_label,
        "b": c.b_label,
        "figure": "speedup of B over A: A's median per-image time / B's",
        "ci": "CI95, seeded percentile bootstrap over the raw samples",
        "pairs": [
            {
                "configuration": p.label,
                "run_a": p.a.id,
                "run_b": p.b.id,
                "speedup": p.speedup.ratio,
                "ci95": list(p.speedup.ci95),
                "verdict": p.speedup.verdict,
                "same_machine": p.same_machine,
                "regression": p.regression,
            }
            for p in c.pairs
        ],
        "geomean": {"speedup": g.ratio, "ci95": list(g.ci95), "verdict": g.verdict} if g else None,
        "only_a": list(c.only_a),
        "only_b": list(c.only_b),
        "regressions_checked": c.regressions_checked,
        "regressions": [p.label for p in c.regressions],
    }
