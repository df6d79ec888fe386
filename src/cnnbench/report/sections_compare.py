"""Comparisons in the report: the speedup figure and table of a :class:`Comparison`, and the
store report's engine comparison (every target against a baseline, per configuration)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cnnbench.report.compare import SAME, Comparison, compare_records
from cnnbench.report.doc import Context, FigureItem, Section, Table
from cnnbench.report.figures import colour, ratio_axis, render, short, style
from cnnbench.report.labels import IDENTITY_TARGET_FIELDS, config_key, config_label, target_label
from cnnbench.results.record import ResultRecord

BOOT_CAPTION = (
    "bars: speedup of B over A (A's median per-image time / B's); error bars: CI95 of the "
    "ratio, seeded bootstrap over the raw samples; log scale"
)


def verdict_text(c: Comparison, verdict: str) -> str:
    return f"{c.b_label} {verdict}" if verdict != SAME else verdict


def comparison_rows(c: Comparison) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for p in c.pairs:
        s = p.speedup
        verdict = verdict_text(c, s.verdict)
        if p.regression:
            verdict += " (REGRESSION)"
        rows.append(
            (
                p.label,
                c.a_label,
                c.b_label,
                f"{s.ratio:.3f}x",
                f"{s.ci95[0]:.3f} - {s.ci95[1]:.3f}",
                verdict,
                p.a.id[:12],
                p.b.id[:12],
            )
        )
    g = c.geomean
    if g is not None:
        rows.append(
            (
                f"geometric mean of {len(c.pairs)}",
                c.a_label,
                c.b_label,
                f"{g.ratio:.3f}x",
                f"{g.ci95[0]:.3f} - {g.ci95[1]:.3f}",
                verdict_text(c, g.verdict),
                "-",
                "-",
            )
        )
    return rows


COMPARISON_COLUMNS = (
    "configuration",
    "A",
    "B",
    "speedup of B",
    "CI95",
    "verdict",
    "run A",
    "run B",
)


def comparisons_figure(
    comparisons: Sequence[Comparison], *, id: str, title: str, png: bool
) -> FigureItem:
    """Horizontal bars per configuration, one colour per comparison, on a log ratio axis."""
    labels = list(dict.fromkeys(p.label for c in comparisons for p in c.pairs))
    n = max(len(comparisons), 1)
    with style() as figs:
        fig, ax = figs.subplots(figsize=(9.0, 1.4 + 0.3 * len(labels) * n))
        lows, highs = [], []
        height = 0.8 / n
        for j, c in enumerate(comparisons):
            col, hatch = colour(j)
            ys, xs, lo, hi = [], [], [], []
            for p in c.pairs:
                i = labels.index(p.label)
                ys.append(i - 0.4 + height * (j + 0.5))
                xs.append(p.speedup.ratio)
                lo.append(p.speedup.ratio - p.speedup.ci95[0])
                hi.append(p.speedup.ci95[1] - p.speedup.ratio)
                lows.append(p.speedup.ci95[0])
                highs.append(p.speedup.ci95[1])
            # bars start at 1: left of it B is slower, right of it faster
            ax.barh(
                ys,
                [x - 1 for x in xs],
                height * 0.9,
                left=1,
                color=col,
                hatch=hatch,
                edgecolor="#333333",
                linewidth=0.4,
                label=short(f"{c.b_label} vs {c.a_label}", 50),
            )
            ax.errorbar(
                xs, ys, xerr=[lo, hi], fmt="none", ecolor="#000000", elinewidth=0.8, capsize=2
            )
        ratio_axis(ax, lows or [1.0], highs or [1.0])
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels([short(x, 40) for x in labels])
        ax.invert_yaxis()
        ax.set_xlabel("speedup of B over A (x, log scale; right of 1: B faster)")
        ax.set_title(title)
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # clear of labels
        return render(fig, id=id, title=title, source="measured", caption=BOOT_CAPTION, png=png)


def comparison_section(c: Comparison, *, png: bool = False, id: str = "compare") -> Section:
    """The section ``cnnbench results compare --html`` writes."""
    title = f"{c.b_label} against {c.a_label}"
    notes = [f"only in A (no counterpart): {x}" for x in c.only_a]
    notes += [f"only in B (no counterpart): {x}" for x in c.only_b]
    notes += [
        f"regression: {p.label} is {1 / p.speedup.ratio:.3f}x slower in B" for p in c.regressions
    ]
    figures = (comparisons_figure([c], id=f"{id}-figure", title=title, png=png),) if c.pairs else ()
    table = Table(f"{id}-table", title, COMPARISON_COLUMNS, tuple(comparison_rows(c)))
    return Section(
        id,
        f"Comparison: {title}",
        "Per configuration the ratio of medians with a "
        "bootstrap CI95; a verdict only where the interval excludes 1.",
        figures=figures,
        tables=(table,),
        notes=tuple(notes),
    )


def engines_section(records: Sequence[ResultRecord], ctx: Context) -> Section | None:
    """Every target against a baseline (the most measured torch target, else the most measured
    target), over the configurations both measured on one machine."""
    ok = [r for r in records if r.status == "ok" and r.samples_ms]
    targets = Counter(target_label(r.spec) for r in ok)
    if len(targets) < 2:
        return None
    torch_targets = [t for t, _ in targets.most_common() if t.split()[0] == "torch"]
    base = torch_targets[0] if torch_targets else targets.most_common(1)[0][0]
    drop = IDENTITY_TARGET_FIELDS

    def key(r: ResultRecord) -> str:
        return config_key(r, drop)

    def label(r: ResultRecord) -> str:
        return config_label(r, drop)

    a = [r for r in ok if target_label(r.spec) == base]
    comparisons = []
    for t in targets:
        if t == base:
            continue
        c = compare_records(
            a, [r for r in ok if target_label(r.spec) == t], key, label, a_label=base, b_label=t
        )
        if c.pairs:
            comparisons.append(c)
    if not comparisons:
        return None
    fig = comparisons_figure(
        comparisons, id="engines-compared", title=f"Targets against {base}", png=ctx.png
    )
    rows = [row for c in comparisons for row in comparison_rows(c)]
    table = Table(
        "engines-compared-table", f"Speedup against {base}", COMPARISON_COLUMNS, tuple(rows)
    )
    return Section(
        "engines-compared",
        f"Targets against {base}",
        f"Speedup of each target over {base} on the configurations both measured "
        "(newest run of each); latency runs compare call times, throughput runs "
        "per-image times at their best batch.",
        figures=(fig,),
        tables=(table,),
    )
