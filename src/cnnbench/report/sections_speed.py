"""Sections of whatever the store holds: overview, latency (seed 000 Fig. 1), throughput."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from cnnbench.report.doc import Context, Section, Table
from cnnbench.report.figures import (
    Value,
    colour,
    grouped_bars,
    log2_batches,
    log_axis,
    render,
    style,
    wants_log,
)
from cnnbench.report.labels import target_label, workload_label
from cnnbench.report.tables import gflops_per_s
from cnnbench.results.record import ResultRecord

GROUPS_PER_FIGURE = 10
CI_CAPTION = "bars: median; error bars: CI95 of the median (distribution-free)"


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 10:
        return f"{value:.2f}"
    return f"{value:.{digits}f}"


def series_label(rec: ResultRecord, machines: int) -> str:
    """The target, and the machine when the records come from several."""
    label = target_label(rec.spec)
    if machines > 1:
        label += f" @ {rec.machine.get('cpu_model') or rec.machine.get('id')}"
    return label


def newest(
    records: Sequence[ResultRecord], key: object = None
) -> dict[tuple[str, str], ResultRecord]:
    """The newest record per (workload, series)."""
    machines = len({r.machine.get("id") for r in records})
    out: dict[tuple[str, str], ResultRecord] = {}
    for rec in sorted(records, key=lambda r: r.created):
        out[(workload_label(rec.spec), series_label(rec, machines))] = rec
    return out


def _order(keys: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    groups = list(dict.fromkeys(k[0] for k in keys))
    series = list(dict.fromkeys(k[1] for k in keys))
    return groups, series


def overview_section(records: Sequence[ResultRecord], ctx: Context) -> Section:
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for rec in records:
        counts[(rec.spec.model.name, target_label(rec.spec), rec.spec.mode)][rec.status] += 1
    rows = tuple(
        (
            model,
            target,
            mode,
            str(sum(c.values())),
            str(c["ok"]),
            ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k != "ok") or "-",
        )
        for (model, target, mode), c in sorted(counts.items())
    )
    status = Counter(r.status for r in records)
    intro = (
        f"{len(records)} run(s): "
        + ", ".join(f"{v} {k}" for k, v in sorted(status.items()))
        + f"; {len({r.spec.model.name for r in records})} model(s), "
        f"{len({target_label(r.spec) for r in records})} target(s), "
        f"{len({r.machine.get('id') for r in records})} machine(s)."
    )
    table = Table(
        "runs-by-model-and-target",
        "Runs by model and target",
        ("model", "target", "mode", "runs", "ok", "not ok"),
        rows,
    )
    return Section("overview", "Overview", intro, tables=(table,))


def latency_section(records: Sequence[ResultRecord], ctx: Context) -> Section | None:
    runs = [r for r in records if r.spec.mode == "latency" and r.status == "ok" and r.latency_ms]
    if not runs:
        return None
    chosen = newest(runs)
    groups, series = _order(list(chosen))
    figures = []
    for start in range(0, len(groups), GROUPS_PER_FIGURE):
        part = groups[start : start + GROUPS_PER_FIGURE]
        values: dict[tuple[str, str], Value] = {}
        for (g, s), rec in chosen.items():
            if g in part and rec.latency_ms:
                lat = rec.latency_ms
                values[(g, s)] = (lat.median, lat.ci95[0], lat.ci95[1])
        with style() as figs:
            fig, ax = figs.subplots(
                figsize=(max(8.5, 0.9 * len(part) * max(1, len(series)) ** 0.5 + 3), 4.2)
            )
            grouped_bars(ax, part, series, values, ylabel="latency per call (ms, lower is better)")
            ax.set_title("Latency by model and target")
            suffix = f"-{start // GROUPS_PER_FIGURE + 1}" if len(groups) > GROUPS_PER_FIGURE else ""
            figures.append(
                render(
                    fig,
                    id=f"latency-bars{suffix}",
                    title="Latency by model and target",
                    source="measured",
                    caption=CI_CAPTION,
                    png=ctx.png,
                )
            )
    rows = []
    base: dict[str, float] = {}
    for (g, s), rec in chosen.items():
        st = rec.latency_ms
        assert st is not None
        ref = base.setdefault(g, st.median)
        rows.append(
            (
                g,
                s,
                str(rec.spec.batch),
                fmt(st.median),
                f"{fmt(st.ci95[0])} - {fmt(st.ci95[1])}",
                fmt(st.mean),
                fmt(st.p99),
                str(st.n),
                fmt(gflops_per_s(rec), 1),
                f"{ref / st.median:.2f}x",
                str(len(rec.warnings)),
                rec.id[:12],
            )
        )
    table = Table(
        "latency-table",
        "Latency (newest run per model and target)",
        (
            "model",
            "target",
            "batch",
            "median ms",
            "CI95 ms",
            "mean ms",
            "p99 ms",
            "n",
            "GFLOP/s",
            "speed vs first target",
            "warnings",
            "run",
        ),
        tuple(rows),
        note="Speed: the first target's median over this target's (above 1: faster).",
    )
    repeats = len(runs) - len(chosen)
    notes = (f"{repeats} older repeat(s) not shown (the newest run of each is)",) if repeats else ()
    return Section(
        "latency",
        "Latency",
        "Single synchronous calls, engine only (measured).",
        figures=tuple(figures),
        tables=(table,),
        notes=notes,
    )


def _ips_ci(batch: int, ci95_ms: tuple[float, float] | None) -> tuple[float | None, float | None]:
    if ci95_ms is None or ci95_ms[0] <= 0:
        return None, None
    return batch * 1e3 / ci95_ms[1], batch * 1e3 / ci95_ms[0]


def throughput_section(records: Sequence[ResultRecord], ctx: Context) -> Section | None:
    runs = [r for r in records if r.spec.mode == "throughput" and r.throughput is not None]
    if not runs:
        return None
    chosen = newest(runs)
    groups, series = _order(list(chosen))
    best: dict[tuple[str, str], Value] = {}
    for key, rec in chosen.items():
        tp = rec.throughput
        point = next((p for p in tp.sweep if p.batch == tp.best_batch), None) if tp else None
        if rec.throughput_ips and point is not None:
            lo, hi = _ips_ci(point.batch, point.ci95_ms)
            best[key] = (rec.throughput_ips, lo, hi)
    figures = []
    with style() as figs:
        fig, ax = figs.subplots(figsize=(max(8.5, 1.2 * len(groups) + 3), 4.2))
        grouped_bars(
            ax, groups, series, best, ylabel="images/s at the best batch (higher is better)"
        )
        ax.set_title("Maximum throughput by model and target")
        figures.append(
            render(
                fig,
                id="throughput-bars",
                title="Maximum throughput by model and target",
                source="measured",
                caption="bars: images/s at the best batch; error bars: CI95 from the "
                "median's CI95 at that batch",
                png=ctx.png,
            )
        )
    cols = min(3, len(groups))
    nrows = -(-len(groups) // cols)
    with style() as figs:
        width = {1: 8.0, 2: 5.0}.get(cols, 4.2)
        fig, axes = figs.subplots(nrows, cols, figsize=(width * cols, 3.6 * nrows), squeeze=False)
        for ax, g in zip(axes.flat, groups, strict=False):
            batches: list[int] = []
            all_ips: list[float] = []
            for j, s in enumerate(series):
                found = chosen.get((g, s))
                sweep = found.throughput.sweep if found and found.throughput else None
                if sweep is None:
                    continue
                c, _ = colour(j)
                ok = [p for p in sweep if p.images_per_s]
                bad = [p for p in sweep if p.status != "ok"]
                xs = [p.batch for p in ok]
                ys = [p.images_per_s or 0.0 for p in ok]
                cis = [_ips_ci(p.batch, p.ci95_ms) for p in ok]
                err = [
                    [y - (lo if lo is not None else y) for y, (lo, _) in zip(ys, cis, strict=True)],
                    [(hi if hi is not None else y) - y for y, (_, hi) in zip(ys, cis, strict=True)],
                ]
                ax.errorbar(
                    xs,
                    ys,
                    yerr=err,
                    color=c,
                    marker="o",
                    markersize=3,
                    capsize=2,
                    linewidth=1.2,
                    label=s,
                )
                for p in bad:
                    ax.plot(
                        [p.batch],
                        [min(ys) if ys else 1.0],
                        marker="x",
                        color=c,
                        markersize=7,
                        linestyle="none",
                    )
                    ax.annotate(
                        p.status,
                        (p.batch, min(ys) if ys else 1.0),
                        fontsize=7,
                        color=c,
                        xytext=(3, 3),
                        textcoords="offset points",
                    )
                batches += [p.batch for p in sweep]
                all_ips += ys
            if batches:
                log2_batches(ax, batches)
            if wants_log(all_ips):
                log_axis(ax, "y")
            ax.set_title(g)
            ax.set_xlabel("batch (images per call)")
            ax.set_ylabel("images/s")
        for ax in list(axes.flat)[len(groups) :]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            frameon=False,
            loc="upper center",
            ncols=min(4, len(series)),
            bbox_to_anchor=(0.5, 0.0),
        )
        fig.suptitle("Throughput against batch")
        fig.tight_layout()
        figures.append(
            render(
                fig,
                id="throughput-vs-batch",
                title="Throughput against batch",
                source="measured",
                caption="points: batch / median call time; error bars: CI95 of the "
                "median; x: a batch that failed",
                png=ctx.png,
            )
        )
    rows = []
    for (g, s), rec in chosen.items():
        tp = rec.throughput
        assert tp is not None
        lo, hi = best.get((g, s), (None, None, None))[1:]
        failed = [f"b{p.batch} {p.status}" for p in tp.sweep if p.status != "ok"]
        rows.append(
            (
                g,
                s,
                str(tp.best_batch or "-"),
                fmt(rec.throughput_ips, 1),
                f"{fmt(lo, 1)} - {fmt(hi, 1)}",
                str(len(tp.sweep)),
                ", ".join(failed) or "-",
                tp.stop,
                rec.status,
                rec.id[:12],
            )
        )
    table = Table(
        "throughput-table",
        "Throughput (newest sweep per model and target)",
        (
            "model",
            "target",
            "best batch",
            "images/s",
            "CI95 images/s",
            "points",
            "failed points",
            "stop",
            "status",
            "run",
        ),
        tuple(rows),
    )
    return Section(
        "throughput",
        "Throughput",
        "Batch sweeps, images/s = batch / median call time (measured).",
        figures=tuple(figures),
        tables=(table,),
    )
