"""Seed 002 (model x data parallelism): the time of the whole workload over streams x threads
per stream, as a heat map and as lines (its Fig. 1), failed points marked (the paper's
out-of-memory points), the best mode and its margin, and the paper's figures.

The workload time is the study's image count over the measured images/s
(:func:`cnnbench.studies.findings_patterns.workload_seconds`); the image count is the record's
own (its budget's exact count of timed requests x batch), so a quick and a full run never mix.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from cnnbench.report.doc import Context, FigureItem, Section, Table, register_study_report
from cnnbench.report.studies._common import (
    findings_tables,
    paper_table,
    selector,
    study_results,
    variants,
)
from cnnbench.report.studies._plots import Point, heat_map, line_grid
from cnnbench.results.record import ResultRecord
from cnnbench.studies.findings import Finding
from cnnbench.studies.findings_patterns import best_parallel_mode, workload_seconds

NAME = "parallel-modes"


def images_of(rec: ResultRecord, default: int) -> int:
    """The images a workload record timed: exactly ``max_samples`` requests of ``batch``."""
    b = rec.spec.budget
    if b.max_samples is not None and b.max_samples == b.min_samples:
        return b.max_samples * rec.spec.batch
    return default


def threads_per_stream(rec: ResultRecord) -> int | None:
    t = rec.spec.target
    return t.threads // t.streams if t.threads else None


def group_key(rec: ResultRecord, images: int) -> str:
    t = rec.spec.target
    return f"{rec.spec.model.name} \u00b7 {t.name} {t.engine} {t.precision} \u00b7 {images} images"


def _groups(
    records: Sequence[ResultRecord], default: int
) -> dict[str, tuple[int, list[ResultRecord]]]:
    """Per model, target and image count: the newest ok run of each point, else its newest
    failure."""
    chosen: dict[tuple[str, object, int], ResultRecord] = {}
    for rec in sorted(records, key=lambda r: (r.status == "ok", r.created)):
        if rec.spec.mode == "latency":
            key = (rec.spec.spec_hash(), rec.machine.get("id"), images_of(rec, default))
            chosen[key] = rec
    out: dict[str, tuple[int, list[ResultRecord]]] = {}
    for rec in chosen.values():
        images = images_of(rec, default)
        out.setdefault(group_key(rec, images), (images, []))[1].append(rec)
    return out


def _figures(
    name: str, images: int, recs: Sequence[ResultRecord], ctx: Context
) -> list[FigureItem]:
    cells: dict[tuple[int, int], float | str] = {}
    lines: dict[str, list[Point]] = defaultdict(list)
    for rec in recs:
        streams, tps = rec.spec.target.streams, threads_per_stream(rec)
        if tps is None:
            continue
        seconds = workload_seconds(rec, images) if rec.status == "ok" else None
        if seconds is None:
            cells[(streams, tps)] = rec.status
            lines[f"{streams} stream(s)"].append(Point(tps, 0.0, failed=rec.status))
            continue
        cells[(streams, tps)] = seconds
        lo = hi = None
        lat = rec.latency_ms
        if streams == 1 and lat is not None and lat.median > 0:  # one request at a time
            lo, hi = seconds * lat.ci95[0] / lat.median, seconds * lat.ci95[1] / lat.median
        lines[f"{streams} stream(s)"].append(Point(tps, seconds, lo, hi))
    rows = sorted({k[0] for k in cells})
    cols = sorted({k[1] for k in cells})
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower())[:60]
    heat = heat_map(
        cells,
        rows,
        cols,
        id=f"pm-heat-{slug}",
        title=f"Workload time: {name}",
        caption=f"cells: seconds for {images} images (images / measured images/s), lower is "
        "better; red x: a failed point with its status; '-': not planned; no error bars",
        row_label="streams (data parallelism)",
        col_label="threads per stream (model parallelism)",
        value_label="workload time (s)",
        png=ctx.png,
    )
    line = line_grid(
        {name: lines},
        id=f"pm-lines-{slug}",
        title=f"Workload time against threads per stream: {name}",
        caption="error bars: CI95 of the median scaled to the workload (one stream only; with "
        "several streams images/s is one wall-clock window per round, no CI); x: a failed point",
        source="measured",
        xlabel="threads per stream",
        ylabel=f"seconds for {images} images",
        png=ctx.png,
        log_x=True,
    )
    return [heat, line]


def _best_rows(findings: Sequence[Finding]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for f in findings:
        n = f.numbers
        best = n["best"]
        rows.append(
            (
                f.where,
                str(n["images"]),
                f"{best['streams']} x {best['threads_per_stream'] or '?'}",
                f"{best['seconds']:.3g}",
                f"{n['margin_over_next']:.1%}" if "margin_over_next" in n else "-",
                f"{n['margin_over_one_stream']:.1%}" if "margin_over_one_stream" in n else "-",
            )
        )
    return rows


@register_study_report(NAME, title="Parallel modes (seed 002)", select=selector(NAME))
def build(records: Sequence[ResultRecord], ctx: Context) -> list[Section]:
    study = variants(NAME)[0]
    default = study.settings.workload_images
    groups = _groups(records, default)
    figures: list[FigureItem] = []
    findings: list[Finding] = []
    failed: list[str] = []
    for name, (images, recs) in sorted(groups.items()):
        figures += _figures(name, images, recs, ctx)
        ok = [r for r in recs if r.status == "ok"]
        findings += best_parallel_mode(study_results(study, ok), images)
        failed += [
            f"{name}: {r.spec.target.streams} stream(s) x {threads_per_stream(r)} thread(s) "
            f"per stream {r.status}: {(r.error or 'no message')[:160]}"
            for r in recs
            if r.status != "ok"
        ]
    best = Table(
        "pm-best-table",
        "The best mode per model and target",
        (
            "model and target",
            "images",
            "streams x threads per stream",
            "seconds",
            "ahead of the next point",
            "ahead of one stream",
        ),
        tuple(_best_rows(findings)),
        note="Margins compare medians of single runs; read small ones (a few %) as ties.",
    )
    return [
        Section(
            "pm-modes",
            f"Study {NAME}: {study.title}",
            "The time of the whole workload for each split of the CPUs into streams (requests "
            "in flight) and threads per stream (seed 002, Fig. 1).",
            figures=tuple(figures),
            tables=(best,),
            notes=tuple(failed)
            or (("no workload run of this study in the store",) if not groups else ()),
        ),
        Section(
            "pm-findings",
            "Findings and the paper",
            tables=(
                *findings_tables(findings, "pm-findings-table"),
                paper_table(study, _here(findings), "pm-paper-table"),
            ),
        ),
    ]


def _here(findings: Sequence[Finding]) -> dict[str, str]:
    if not findings:
        return {}
    here = {"best-mode": "; ".join(f.statement for f in findings)}
    trends = []
    for f in findings:
        by_streams: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for p in f.numbers["points"]:
            if p["threads"]:
                by_streams[p["streams"]].append((p["threads"], p["seconds"]))
        rising = [s for s, pts in by_streams.items() if len(pts) > 1 and _rises(pts)]
        if by_streams:
            trends.append(
                f"{f.where}: longer with more threads at {len(rising)} of "
                f"{sum(1 for pts in by_streams.values() if len(pts) > 1)} stream counts"
            )
    if trends:
        here["threads"] = "; ".join(trends)
    return here


def _rises(points: list[tuple[int, float]]) -> bool:
    ys = [s for _, s in sorted(points)]
    return all(b >= a for a, b in itertools.pairwise(ys))
