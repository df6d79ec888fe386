"""Seed 000 (multiple algorithms against multiple hardware): grouped bars per model and named
target for latency, throughput and energy efficiency (its Fig. 1; energy stated unavailable
where no meter measured it), the time by layer type against the FLOPs (its Fig. 2, Insight 1),
the unattributed overhead against threads (Insight 2), its observations and the paper's figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cnnbench.report.doc import Context, FigureItem, Section, register_study_report
from cnnbench.report.figures import Value, grouped_bars, render, style
from cnnbench.report.sections_layers import layers_section
from cnnbench.report.studies._common import (
    commonest,
    findings_tables,
    paper_table,
    selector,
    study_results,
    variants,
)
from cnnbench.report.studies._plots import Point, line_grid
from cnnbench.results.record import ResultRecord
from cnnbench.studies.findings import Finding, all_findings

NAME = "algorithms-vs-hardware"


def series(rec: ResultRecord) -> str:
    """The named target (the paper's processor) and the engine."""
    t = rec.spec.target
    return f"{t.name} \u00b7 {t.engine}" + (f" {t.precision}" if t.precision != "fp32" else "")


def _bars(
    values: dict[tuple[str, str], Value],
    *,
    id: str,
    title: str,
    ylabel: str,
    caption: str,
    source: str,
    png: bool,
) -> FigureItem:
    groups = list(dict.fromkeys(g for g, _ in values))
    names = sorted({s for _, s in values})
    with style() as figs:
        fig, ax = figs.subplots(figsize=(max(8.0, 1.3 * len(groups) + 4), 4.0))
        grouped_bars(ax, groups, names, values, ylabel=ylabel)
        ax.set_title(title)
        return render(fig, id=id, title=title, source=source, caption=caption, png=png)


def _ips_ci(rec: ResultRecord) -> Value | None:
    tp = rec.throughput
    if tp is None or rec.throughput_ips is None:
        return None
    point = next((p for p in tp.sweep if p.batch == tp.best_batch), None)
    if point is None or point.ci95_ms is None or point.ci95_ms[0] <= 0:
        return (rec.throughput_ips, None, None)
    return (
        rec.throughput_ips,
        point.batch * 1e3 / point.ci95_ms[1],
        point.batch * 1e3 / point.ci95_ms[0],
    )


def speed_section(recs: Sequence[ResultRecord], ctx: Context) -> Section:
    latency = {
        (r.spec.model.name, series(r)): (r.latency_ms.median, *r.latency_ms.ci95)
        for r in recs
        if r.spec.mode == "latency" and r.spec.batch == 1 and r.latency_ms
    }
    throughput = {
        (r.spec.model.name, series(r)): v
        for r in recs
        if r.spec.mode == "throughput" and (v := _ips_ci(r)) is not None
    }
    measured = [r for r in recs if r.spec.mode == "latency" and r.energy.source != "none"]
    energy = {
        (r.spec.model.name, series(r)): (r.energy.images_per_j, None, None)
        for r in measured
        if r.energy.images_per_j
    }
    figures, notes = [], []
    if latency:
        figures.append(
            _bars(
                latency,  # type: ignore[arg-type]
                id="avh-latency",
                title="Latency at batch 1 by model and named target",
                ylabel="latency per call (ms, lower is better)",
                caption="bars: median; error bars: CI95 of the median (distribution-free)",
                source="measured",
                png=ctx.png,
            )
        )
    else:
        notes.append("no latency run of this study in the store")
    if throughput:
        figures.append(
            _bars(
                throughput,
                id="avh-throughput",
                title="Maximum throughput by model and named target",
                ylabel="images/s at the best batch (higher is better)",
                caption="bars: images/s at the best batch of the sweep; error bars: CI95 from "
                "the median's CI95 at that batch",
                source="measured",
                png=ctx.png,
            )
        )
    else:
        notes.append("throughput: not measured (the quick variant has no batch sweep)")
    if energy:
        estimated = any(r.energy.source == "estimated" for r in measured)
        figures.append(
            _bars(
                energy,  # type: ignore[arg-type]
                id="avh-energy",
                title="Energy efficiency by model and named target",
                ylabel="images per joule (higher is better)",
                caption="bars: images per joule over the timed windows (dynamic energy where "
                "idle power was measured); no error bars: one energy reading per window",
                source="estimated" if estimated else "measured",
                png=ctx.png,
            )
        )
    else:
        why = commonest([r.energy.reason for r in recs if r.spec.mode == "latency"])
        notes.append(f"energy efficiency: unavailable on this machine; the records say: {why}")
    return Section(
        "avh-speed",
        "Latency, throughput and energy per model and target (seed 000, Fig. 1)",
        "Each named target stands for one of the paper's processors (big-avx512: every CPU at "
        "the machine's ISA; small-avx2: one CPU capped at AVX2).",
        figures=tuple(figures),
        notes=tuple(notes),
    )


def overhead_section(findings: Sequence[Finding], ctx: Context) -> Section:
    panels: dict[str, dict[str, list[Point]]] = defaultdict(dict)
    for f in findings:
        if f.kind != "overhead-vs-threads":
            continue
        panels[f.where][f.numbers["model"]] = [
            Point(p["threads"], 100 * p["overhead_share"]) for p in f.numbers["points"]
        ]
    title = "Runtime overhead against threads (seed 000, Insight 2)"
    if not panels:
        return Section(
            "avh-overhead",
            title,
            notes=(
                "needs profiles of one model at two or more thread counts (the layers metric "
                "on two targets); none in the store",
            ),
        )
    figure = line_grid(
        panels,
        id="avh-overhead",
        title="Unattributed overhead against threads",
        caption="points: (unprofiled median - sum of the profiled layers' medians) / unprofiled "
        "median, per run; no error bars: one profile per run",
        source="measured",
        xlabel="threads",
        ylabel="overhead (% of end-to-end time)",
        png=ctx.png,
        log_x=True,
        log_y=False,
        reference=0.0,
    )
    return Section(
        "avh-overhead",
        title,
        "The share of a call not spent in any layer, as the thread count grows.",
        figures=(figure,),
    )


def _here(findings: Sequence[Finding]) -> dict[str, str]:
    def first(kind: str, want: str = "") -> str | None:
        f = next((f for f in findings if f.kind == kind and want in f.statement), None)
        if f is None:
            return None
        sig = {True: " (significant)", False: " (not significant)", None: ""}[f.significant]
        return f.statement + sig

    here = {}
    for key, text in (
        ("observation-1", first("more-flops-lower-latency")),
        ("observation-2", first("rank-inversion")),
        ("insight-1", first("layer-time-exceeds-flops", "batchnorm")),
    ):
        if text:
            here[key] = text
    overhead = [
        f"{f.numbers['model']} {f.where}: "
        + ", ".join(f"{p['overhead_share']:.0%} at {p['threads']}t" for p in f.numbers["points"])
        for f in findings
        if f.kind == "overhead-vs-threads"
    ]
    if overhead:
        rising = sum(1 for f in findings if f.kind == "overhead-vs-threads" and f.numbers["rising"])
        here["insight-2"] = (
            f"the unattributed share rises with threads for {rising} of {len(overhead)} model "
            f"and engine pairs: " + "; ".join(overhead)
        )
    return here


@register_study_report(NAME, title="Algorithms against hardware (seed 000)", select=selector(NAME))
def build(records: Sequence[ResultRecord], ctx: Context) -> list[Section]:
    study = variants(NAME)[0]
    results = study_results(study, records)
    recs = [r.record for r in results]
    findings = all_findings(results)
    layers = layers_section([r for r in recs if r.layers], ctx)
    return [
        Section(
            "avh-study",
            f"Study {NAME}: {study.title}",
            f"{len(results)} configuration(s) measured (the newest ok run of each).",
        ),
        speed_section(recs, ctx),
        layers
        or Section(
            "layers", "Time by layer type", notes=("no profile (layers metric) in the store",)
        ),
        overhead_section(findings, ctx),
        Section(
            "avh-findings",
            "Observations and the paper",
            tables=(
                *findings_tables(findings, "avh-findings-table"),
                paper_table(study, _here(findings), "avh-paper-table"),
            ),
        ),
    ]
