"""Seed 001 (SyNERGY, fine-grained energy and performance): per-layer time (and energy where a
meter measured it) per network, the layer-type shares against the FLOPs, the counters where a
probe counted them (else why not), the findings and the paper's figures.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnbench.report.doc import Context, FigureItem, Section, Table, register_study_report
from cnnbench.report.figures import GREY, colour, render, short, style
from cnnbench.report.sections_layers import TYPE_ORDER, layer_flops, layers_section
from cnnbench.report.sections_speed import fmt
from cnnbench.report.studies._common import (
    commonest,
    findings_tables,
    paper_table,
    selector,
    study_results,
    variants,
)
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import OVERHEAD, LayerRecord
from cnnbench.studies.findings import all_findings

NAME = "fine-grained-energy"
TOP_LAYERS = 12  # per panel; the rest are summed
PANELS_PER_FIGURE = 6
COUNTER_KEYS = 6  # counters shown per run (the table has them all)


def run_label(rec: ResultRecord) -> str:
    t = rec.spec.target
    return f"{rec.spec.model.name} \u00b7 {t.name} {t.engine}"


def _top(rec: ResultRecord) -> list[tuple[str, str, float, float | None]]:
    """(name, type, ms, J) of the slowest layers, then the rest and the overhead summed."""
    layers = [x for x in rec.layers if x.time_ms is not None and x.layer_type != OVERHEAD]
    layers.sort(key=lambda x: -(x.time_ms or 0.0))
    out = [(x.name, x.layer_type, x.time_ms or 0.0, x.energy_j) for x in layers[:TOP_LAYERS]]
    rest = layers[TOP_LAYERS:]
    if rest:
        energy = [x.energy_j for x in rest]
        out.append(
            (
                f"{len(rest)} other layers",
                "other",
                sum(x.time_ms or 0.0 for x in rest),
                sum(e for e in energy if e is not None)
                if all(e is not None for e in energy)
                else None,
            )
        )
    return out


def _colour(layer_type: str) -> str:
    if layer_type in TYPE_ORDER:
        return colour(TYPE_ORDER.index(layer_type))[0]
    return GREY


def layer_figures(runs: Sequence[ResultRecord], ctx: Context, energy: bool) -> list[FigureItem]:
    figures = []
    for start in range(0, len(runs), PANELS_PER_FIGURE):
        part = runs[start : start + PANELS_PER_FIGURE]
        cols = 2 if len(part) > 1 else 1
        nrows = -(-len(part) // cols)
        with style() as figs:
            fig, axes = figs.subplots(nrows, cols, figsize=(6.2 * cols, 3.8 * nrows), squeeze=False)
            for ax, rec in zip(axes.flat, part, strict=False):
                top = _top(rec)
                ys = range(len(top))
                values = [
                    (e * 1e3 if e is not None else 0.0) if energy else t for _, _, t, e in top
                ]
                ax.barh(
                    ys,
                    values,
                    0.7,
                    color=[_colour(kind) for _, kind, _, _ in top],
                    edgecolor="#333333",
                    linewidth=0.3,
                )
                ax.set_yticks(list(ys))
                ax.set_yticklabels([short(f"{n} ({k})", 38) for n, k, _, _ in top], fontsize=7)
                ax.invert_yaxis()
                ax.set_xlabel("energy per call (mJ)" if energy else "time per call (ms)")
                ax.set_title(short(run_label(rec), 60))
            for ax in list(axes.flat)[len(part) :]:
                ax.set_visible(False)
            fig.tight_layout()
            what = "energy" if energy else "time"
            suffix = f"-{start // PANELS_PER_FIGURE + 1}" if len(runs) > PANELS_PER_FIGURE else ""
            figures.append(
                render(
                    fig,
                    id=f"fge-layer-{what}{suffix}",
                    title=f"Per-layer {what}, slowest {TOP_LAYERS} layers per network",
                    source="measured",
                    caption=(
                        "bars: energy per call from an isolated per-layer replay with an energy "
                        "meter"
                        if energy
                        else "bars: the engine profiler's median time per call"
                    )
                    + "; colour: layer type (grey: fused or other); no error bars: one "
                    "profile per run",
                    png=ctx.png,
                )
            )
    return figures


def layer_rows(runs: Sequence[ResultRecord]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for rec in runs:
        for x in sorted(rec.layers, key=lambda x: -(x.time_ms or 0.0)):
            rows.append(
                (
                    rec.spec.model.name,
                    f"{rec.spec.target.name} {rec.spec.target.engine}",
                    x.name,
                    x.layer_type,
                    fmt(x.time_ms),
                    f"{x.energy_j * 1e3:.3g}" if x.energy_j is not None else "-",
                    _gflop(x),
                )
            )
    return rows


def _gflop(x: LayerRecord) -> str:
    f = layer_flops(x)
    return f"{f / 1e9:.4g}" if f else "-"


def counters_section(recs: Sequence[ResultRecord]) -> Section:
    counted = [r for r in recs if r.counters.source != "none" and r.counters.per_inference]
    title = "Counters"
    if not counted:
        why = commonest([r.counters.reason for r in recs])
        return Section(
            "fge-counters",
            title,
            notes=(f"unavailable: no run of this study carries counts; the records say: {why}",),
        )
    rows = []
    for r in counted:
        for key, value in sorted(r.counters.per_inference.items()):
            rows.append((run_label(r), r.counters.source, key, f"{value:.4g}"))
    simulated = any("simulated" in r.counters.source for r in counted)
    return Section(
        "fge-counters",
        title,
        "Hardware events per inference (the inputs of SyNERGY's energy model)"
        + (" (simulated counts: cachegrind)" if simulated else "")
        + ".",
        tables=(
            Table(
                "fge-counters-table",
                "Counts per inference",
                ("run", "source", "event", "per inference"),
                tuple(rows),
            ),
        ),
    )


def _here(recs: Sequence[ResultRecord], with_energy: Sequence[ResultRecord]) -> dict[str, str]:
    """The paper's figures are errors of energy models: what this store has toward them."""
    if with_energy:
        text = (
            f"{len(with_energy)} profile(s) with per-layer energy measured; the energy models "
            "(and their error) come with prediction, not yet in this report"
        )
    else:
        why = commonest([r.energy.reason for r in recs])
        text = f"not measurable here: no energy meter ({why})"
    return {key: text for key in ("energy-from-counters", "energy-from-macs")}


@register_study_report(
    NAME, title="Fine-grained energy and performance (seed 001)", select=selector(NAME)
)
def build(records: Sequence[ResultRecord], ctx: Context) -> list[Section]:
    study = variants(NAME)[0]
    results = study_results(study, records)
    recs = [r.record for r in results]
    runs = sorted((r for r in recs if r.layers), key=run_label)
    with_energy = [r for r in runs if any(x.energy_j is not None for x in r.layers)]
    notes = []
    if not with_energy:
        why = commonest([r.energy.reason for r in recs])
        notes.append(f"per-layer energy: unavailable on this machine; the records say: {why}")
    if not runs:
        notes.append("no profile (layers metric) of this study in the store")
    figures = layer_figures(runs, ctx, energy=False) + layer_figures(with_energy, ctx, energy=True)
    table = Table(
        "fge-layers-table",
        "Every layer of every profile",
        ("model", "target", "layer", "type", "time ms", "energy mJ", "GFLOP"),
        tuple(layer_rows(runs)),
    )
    findings = all_findings(results)
    shares = layers_section(runs, ctx)
    return [
        Section(
            "fge-layers",
            f"Study {NAME}: per-layer time and energy",
            f"{study.title}; {len(runs)} profile(s).",
            figures=tuple(figures),
            tables=(table,),
            notes=tuple(notes),
        ),
        shares or Section("layers", "Time by layer type", notes=("no profile in the store",)),
        counters_section(recs),
        Section(
            "fge-findings",
            "Findings and the paper",
            tables=(
                *findings_tables(findings, "fge-findings-table"),
                paper_table(study, _here(recs, with_energy), "fge-paper-table"),
            ),
        ),
    ]
