"""Seed 003 ("Does form follow function?"): the accelerated engines' speedup over torch per
design pattern against depth and width (its Figs. 1-2), FLOPs against latency, the zoo
networks' speedups (its Fig. 5), cache misses against depth (its Fig. 3) where counters exist,
the findings and the paper's figures.

A speedup is torch's median per-image time over the accelerated engine's on the same model,
batch, precision and named target; its CI95 is the seeded bootstrap of the ratio over both raw
sample sets (:func:`cnnbench.report.compare.compare_records`).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence

from cnnbench.report.compare import Comparison, Pair, compare_records
from cnnbench.report.doc import Context, FigureItem, Section, Table, register_study_report
from cnnbench.report.figures import colour, log_axis, render, style
from cnnbench.report.labels import config_key
from cnnbench.report.sections_compare import COMPARISON_COLUMNS, comparison_rows, comparisons_figure
from cnnbench.report.sections_speed import fmt
from cnnbench.report.studies._common import (
    commonest,
    findings_tables,
    fmt_x,
    paper_table,
    selector,
    study_results,
    variants,
)
from cnnbench.report.studies._plots import Point, line_grid
from cnnbench.results.record import ResultRecord
from cnnbench.studies.findings import all_findings
from cnnbench.studies.findings_patterns import ACCELERATED, pattern_of

NAME = "design-patterns"
MAX_ENGINE_FIGURES = 3  # speedup figures (one per accelerated engine and precision)
MISS_KEYS = ("LLC-load-misses", "ll_misses", "cache-misses")
SPEEDUP_CAPTION = (
    "points: speedup = torch median / engine median (above 1: the engine is faster); "
    "error bars: CI95 of the ratio, seeded bootstrap over both raw sample sets"
)


def engine_label(rec: ResultRecord, targets: int) -> str:
    t = rec.spec.target
    label = f"{t.engine} {t.precision}"
    return f"{label} @ {t.name}" if targets > 1 else label


def speedups(latency: Sequence[ResultRecord]) -> list[Comparison]:
    """Per accelerated engine (and precision, and target): every configuration against torch."""
    targets = len({r.spec.target.name for r in latency})
    torch = [r for r in latency if r.spec.target.engine == "torch"]
    by_engine: dict[str, list[ResultRecord]] = defaultdict(list)
    for r in latency:
        if r.spec.target.engine in ACCELERATED:
            by_engine[engine_label(r, targets)].append(r)

    def key(r: ResultRecord) -> str:
        return config_key(r, ("engine",))

    def label(r: ResultRecord) -> str:
        return r.spec.model.name + (f" b{r.spec.batch}" if r.spec.batch != 1 else "")

    out = []
    for name, recs in sorted(by_engine.items()):
        c = compare_records(torch, recs, key, label, a_label="torch", b_label=name)
        if c.pairs:
            out.append(c)
    return out


def _split(c: Comparison, patterns: bool) -> Comparison:
    pairs = tuple(p for p in c.pairs if (pattern_of(p.b.spec.model.name) is not None) == patterns)
    return Comparison(c.a_label, c.b_label, pairs)


def _point(p: Pair, x: float) -> Point:
    s = p.speedup
    return Point(x, s.ratio, s.ci95[0], s.ci95[1])


def _pattern_figures(comps: Sequence[Comparison], ctx: Context) -> list[FigureItem]:
    figures = []
    for c in comps[:MAX_ENGINE_FIGURES]:
        pairs = [(pattern_of(p.b.spec.model.name), p) for p in c.pairs]
        batch = min((p.b.spec.batch for _, p in pairs), default=1)
        cells = [(pat, p) for pat, p in pairs if pat is not None and p.b.spec.batch == batch]
        widths = sorted({pat[2] for pat, _ in cells})
        depths = sorted({pat[1] for pat, _ in cells})
        by_depth: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
        by_width: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
        for (name, depth, width), p in cells:
            by_depth[name][f"width {width}"].append(_point(p, depth))
            by_width[name][f"depth {depth}"].append(_point(p, width))
        slug = c.b_label.replace(" ", "-").replace("@", "at")
        common = dict(
            caption=SPEEDUP_CAPTION + f"; batch {batch}; dashed: no speedup",
            source="measured",
            ylabel="speedup over torch (x)",
            png=ctx.png,
            reference=1.0,
            log_y=True,
        )
        if len(depths) > 1 or len(widths) == 1:
            figures.append(
                line_grid(
                    by_depth,
                    id=f"speedup-vs-depth-{slug}",
                    title=f"{c.b_label} over torch against depth, per pattern",
                    xlabel="depth (layers)",
                    **common,  # type: ignore[arg-type]
                )
            )
        if len(widths) > 1:
            figures.append(
                line_grid(
                    by_width,
                    id=f"speedup-vs-width-{slug}",
                    title=f"{c.b_label} over torch against width, per pattern",
                    xlabel="width (channels)",
                    log_x=True,
                    **common,  # type: ignore[arg-type]
                )
            )
    return figures


def speedup_section(comps: Sequence[Comparison], ctx: Context) -> Section:
    patterns = [_split(c, True) for c in comps]
    patterns = [c for c in patterns if c.pairs]
    rows = []
    for c in patterns:
        for p in c.pairs:
            pat = pattern_of(p.b.spec.model.name)
            assert pat is not None
            s = p.speedup
            rows.append(
                (
                    pat[0],
                    str(pat[1]),
                    str(pat[2]),
                    str(p.b.spec.batch),
                    c.b_label,
                    fmt(p.a.latency_ms.median if p.a.latency_ms else None),
                    fmt(p.b.latency_ms.median if p.b.latency_ms else None),
                    fmt_x(s.ratio),
                    f"{s.ci95[0]:.2f} - {s.ci95[1]:.2f}",
                    s.verdict,
                )
            )
    notes = () if patterns else ("no pattern measured on torch and an accelerated engine",)
    return Section(
        "dp-speedup",
        "Speedup over torch per design pattern (seed 003, Figs. 1-2)",
        "How much faster an accelerated engine runs each generated pattern than torch, as "
        "depth (and width) grow.",
        figures=tuple(_pattern_figures(patterns, ctx)),
        tables=(
            Table(
                "dp-speedup-table",
                "Speedup per pattern, depth, width and batch",
                (
                    "pattern",
                    "depth",
                    "width",
                    "batch",
                    "engine",
                    "torch ms",
                    "engine ms",
                    "speedup",
                    "CI95",
                    "verdict",
                ),
                tuple(rows),
            ),
        ),
        notes=notes,
    )


def flops_section(latency: Sequence[ResultRecord], ctx: Context) -> Section:
    targets = len({r.spec.target.name for r in latency})
    batch = min((r.spec.batch for r in latency), default=1)
    series: dict[str, list[ResultRecord]] = defaultdict(list)
    skipped = 0
    for r in latency:
        if r.spec.batch != batch:
            continue
        if not r.cost.flops or r.cost.lower_bound:
            skipped += 1
            continue
        series[engine_label(r, targets)].append(r)
    marks = "os^vD<>ph"
    kinds = sorted(
        {(pattern_of(r.spec.model.name) or ("zoo",))[0] for rs in series.values() for r in rs}
    )
    with style() as figs:
        fig, ax = figs.subplots(figsize=(8.5, 5.0))
        for j, (name, recs) in enumerate(sorted(series.items())):
            c, _ = colour(j)
            for k, kind in enumerate(kinds):
                pts = [r for r in recs if (pattern_of(r.spec.model.name) or ("zoo",))[0] == kind]
                if not pts:
                    continue
                xs = [(r.cost.flops or 0) * r.spec.batch / 1e9 for r in pts]
                ys = [r.latency_ms.median for r in pts if r.latency_ms]
                lo = [
                    y - r.latency_ms.ci95[0] for y, r in zip(ys, pts, strict=True) if r.latency_ms
                ]
                hi = [
                    r.latency_ms.ci95[1] - y for y, r in zip(ys, pts, strict=True) if r.latency_ms
                ]
                ax.errorbar(
                    xs,
                    ys,
                    yerr=[lo, hi],
                    fmt="*" if kind == "zoo" else marks[k % len(marks)],
                    color=c,
                    markersize=7 if kind == "zoo" else 4,
                    capsize=1.5,
                    linestyle="none",
                    alpha=0.85,
                    label=f"{name} \u00b7 {kind}",
                )
        log_axis(ax, "x")
        log_axis(ax, "y")
        ax.set_xlabel("GFLOP per call (cost model, log scale)")
        ax.set_ylabel("median latency per call (ms, log scale)")
        ax.set_title(f"FLOPs against latency, batch {batch}")
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
        figure = render(
            fig,
            id="dp-flops-vs-latency",
            title="FLOPs against latency per engine",
            source="measured",
            caption="points: median latency (measured) against the cost model's FLOPs "
            "(estimated); error bars: CI95 of the median; colour: engine, marker: pattern "
            "(star: a zoo network)",
            png=ctx.png,
        )
    notes = (f"{skipped} run(s) without a complete FLOP count are not drawn",) if skipped else ()
    return Section(
        "dp-flops",
        "FLOPs against latency",
        "Whether more FLOPs means more time, per engine (the findings give the rank "
        "correlation per pattern).",
        figures=(figure,),
        notes=notes,
    )


def zoo_section(comps: Sequence[Comparison], ctx: Context) -> Section:
    zoo = [c for c in (_split(c, False) for c in comps) if c.pairs]
    figures: tuple[FigureItem, ...] = ()
    if zoo:
        figures = (
            comparisons_figure(
                zoo, id="dp-zoo-speedup", title="Zoo networks: speedup over torch", png=ctx.png
            ),
        )
    rows = tuple(row for c in zoo for row in comparison_rows(c))
    return Section(
        "dp-zoo",
        "Zoo networks: speedup over torch (seed 003, Fig. 5)",
        "Hand-crafted and NAS networks on the accelerated engines against torch.",
        figures=figures,
        tables=(Table("dp-zoo-table", "Zoo speedups over torch", COMPARISON_COLUMNS, rows),),
        notes=() if zoo else ("no zoo network measured on torch and an accelerated engine",),
    )


def _misses(rec: ResultRecord) -> tuple[str, float] | None:
    for key in MISS_KEYS:
        if key in rec.counters.per_inference:
            return key, float(rec.counters.per_inference[key])
    return None


def cache_section(latency: Sequence[ResultRecord], ctx: Context) -> Section:
    counted = [(r, _misses(r)) for r in latency if pattern_of(r.spec.model.name)]
    have = [(r, m) for r, m in counted if m is not None]
    title = "Cache misses against depth (seed 003, Fig. 3)"
    if not have:
        why = commonest([r.counters.reason for r in latency if r.counters.source == "none"])
        return Section(
            "dp-cache",
            title,
            notes=(
                "unavailable: no record of this study carries cache-miss counts; the records "
                f"say: {why} (the full study asks perf, which needs a PMU; where there is none, "
                "cnnbench run --counters cachegrind simulates the counts)",
            ),
        )
    simulated = any("simulated" in r.counters.source for r, _ in have)
    targets = len({r.spec.target.name for r, _ in have})
    panels: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for r, m in have:
        pat = pattern_of(r.spec.model.name)
        assert pat is not None and m is not None
        panels[pat[0]][f"{engine_label(r, targets)} w{pat[2]}"].append(Point(pat[1], m[1]))
    keys = sorted({m[0] for _, m in have if m})
    figure = line_grid(
        panels,
        id="dp-cache-misses",
        title="Last-level cache misses per inference against depth",
        caption=f"counter: {', '.join(keys)} per inference ({have[0][0].counters.source}); "
        "no error bars: one counted window per run",
        source="simulated" if simulated else "measured",
        xlabel="depth (layers)",
        ylabel="misses per inference",
        png=ctx.png,
    )
    return Section("dp-cache", title, figures=(figure,))


def _here(comps: Sequence[Comparison]) -> dict[str, str]:
    here: dict[str, str] = {}
    main = next((c for c in comps if c.b_label.startswith("openvino fp32")), None)
    if main is None:
        return here
    pats = _split(main, True)
    g = pats.geomean
    if g is not None:
        mean = statistics.fmean(p.speedup.ratio for p in pats.pairs)
        here["average-speedup"] = (
            f"{main.b_label} over torch: geometric mean {fmt_x(g.ratio, g.ci95)}, arithmetic "
            f"mean {mean:.2f}x over {len(pats.pairs)} pattern configurations"
        )
        deepest = max(pattern_of(p.b.spec.model.name)[1] for p in pats.pairs)  # type: ignore[index]
        at = [p for p in pats.pairs if pattern_of(p.b.spec.model.name)[1] == deepest]  # type: ignore[index]
        best = max(at, key=lambda p: p.speedup.ratio)
        pat = pattern_of(best.b.spec.model.name)
        assert pat is not None
        here["best-pattern"] = (
            f"{pat[0]} (width {pat[2]}): {fmt_x(best.speedup.ratio, best.speedup.ci95)} at "
            f"{deepest} layers, the deepest measured"
        )
    for p in _split(main, False).pairs:
        key = p.b.spec.model.name.replace("_", "-")
        if p.b.latency_ms and p.a.latency_ms:
            here[key] = (
                f"{p.b.spec.model.name}: {p.b.latency_ms.median:.3g} ms on {main.b_label} "
                f"({p.a.latency_ms.median:.3g} ms on torch), "
                f"{fmt_x(p.speedup.ratio, p.speedup.ci95)}"
            )
    return here


@register_study_report(
    NAME, title="Design patterns against hardware (seed 003)", select=selector(NAME)
)
def build(records: Sequence[ResultRecord], ctx: Context) -> list[Section]:
    study = variants(NAME)[0]
    results = study_results(study, records)
    latency = [
        r.record
        for r in results
        if r.record.spec.mode == "latency" and r.record.latency_ms and r.record.samples_ms
    ]
    comps = speedups(latency)
    findings = all_findings(results)
    intro = Section(
        "dp-study",
        f"Study {NAME}: {study.title}",
        f"{len(results)} configuration(s) measured ({len(records)} run(s) of this study in the "
        f"store, the newest ok run of each configuration is used).",
    )
    last = Section(
        "dp-findings",
        "Findings and the paper",
        tables=(
            *findings_tables(findings, "dp-findings-table"),
            paper_table(study, _here(comps), "dp-paper-table"),
        ),
    )
    return [
        intro,
        speedup_section(comps, ctx),
        flops_section(latency, ctx),
        zoo_section(comps, ctx),
        cache_section(latency, ctx),
        last,
    ]
