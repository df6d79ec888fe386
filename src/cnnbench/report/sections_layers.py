"""Time by layer type (seed 000 Fig. 2): stacked bars of per-call time beside the FLOPs shares.

Built from each record's ``layers`` (:class:`~cnnbench.results.sections.LayerRecord`, the engine
profiler's per-layer times in the one taxonomy; ``overhead`` is the unattributed rest of the
end-to-end time when the profile recorded it). Time is measured by the engine's profiler; FLOPs
shares come from the cost model, per layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from cnnbench.report.doc import Context, Section, Table
from cnnbench.report.figures import GREY, colour, render, short, style
from cnnbench.report.sections_speed import fmt, newest
from cnnbench.results.profile import type_shares
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import OVERHEAD, LayerRecord

# The order stacks are drawn in: compute first, then the cheap-in-FLOPs layers, overhead last.
TYPE_ORDER = (
    "conv",
    "conv_1x1",
    "conv_dw",
    "conv_group",
    "fc",
    "batchnorm",
    "activation",
    "pool",
    "add",
    "concat",
    "reshape",
    "other",
)
MAX_TYPES = 16  # beyond: the smallest fused(...) types are summed as "fused (other)"


def layer_flops(layer: LayerRecord) -> int | None:
    if layer.flops is not None:
        return layer.flops
    return 2 * layer.macs if layer.macs is not None else None


def by_type(rec: ResultRecord) -> tuple[dict[str, float], dict[str, float], str | None]:
    """Time per call (ms) and FLOPs per layer type, and a note on a negative overhead.

    A profile record (mode ``profile``) has its overhead from the unprofiled end-to-end time
    (:func:`cnnbench.results.profile.type_shares`); otherwise an ``overhead`` layer, if any,
    is the overhead."""
    time_ms: dict[str, float] = defaultdict(float)
    flops: dict[str, float] = defaultdict(float)
    for layer in rec.layers:
        if layer.time_ms is not None:
            time_ms[layer.layer_type] += layer.time_ms
        f = layer_flops(layer)
        if f:
            flops[layer.layer_type] += f
    note = None
    if rec.profile is not None:
        shares = {s.layer_type: s for s in type_shares(rec.layers, rec.profile.end_to_end_ms)}
        overhead = shares[OVERHEAD].time_ms
        if overhead >= 0:
            time_ms[OVERHEAD] = overhead
        else:
            note = (
                f"overhead {overhead:.3f} ms is negative (the profiler's own cost exceeds it): "
                "not drawn, read the shares"
            )
    return dict(time_ms), dict(flops), note


def type_order(types: set[str]) -> list[str]:
    known = [t for t in TYPE_ORDER if t in types]
    fused = sorted(t for t in types if t not in TYPE_ORDER and t != OVERHEAD)
    return known + fused + ([OVERHEAD] if OVERHEAD in types else [])


def _cap_types(per_bar: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """At most MAX_TYPES types: the smallest fused types are merged."""
    types = {t for d in per_bar.values() for t in d}
    if len(types) <= MAX_TYPES:
        return per_bar
    total: dict[str, float] = defaultdict(float)
    for d in per_bar.values():
        for t, v in d.items():
            total[t] += v
    fused = sorted((t for t in types if t.startswith("fused(")), key=lambda t: total[t])
    merge = set(fused[: len(types) - MAX_TYPES + 1])
    out = {}
    for bar, d in per_bar.items():
        nd: dict[str, float] = defaultdict(float)
        for t, v in d.items():
            nd["fused (other)" if t in merge else t] += v
        out[bar] = dict(nd)
    return out


def layers_section(records: Sequence[ResultRecord], ctx: Context) -> Section | None:
    runs = [r for r in records if r.layers]
    if not runs:
        return None
    chosen = newest(runs)
    times: dict[str, dict[str, float]] = {}
    flops_share: dict[str, dict[str, float]] = {}
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for (g, s), rec in chosen.items():
        t_ms, flops, note = by_type(rec)
        label = f"{g} \u00b7 {s}"
        if note:
            notes.append(f"{label}: {note}")
        times[label] = t_ms
        total_t = sum(t_ms.values())
        total_f = sum(flops.values())
        if total_f and g not in flops_share:
            flops_share[g] = {k: 100.0 * v / total_f for k, v in flops.items()}
        for t in type_order(set(t_ms) | set(flops)):
            rows.append(
                (
                    g,
                    s,
                    t,
                    fmt(t_ms.get(t)),
                    f"{100 * t_ms.get(t, 0) / total_t:.1f}" if total_t else "-",
                    f"{100 * flops.get(t, 0) / total_f:.1f}" if total_f and t != OVERHEAD else "-",
                )
            )
    totals_ms = {bar: sum(d.values()) for bar, d in times.items()}
    # shares of each bar's end-to-end time: engines 100x apart stay readable side by side
    times = _cap_types(
        {
            bar: {t: 100.0 * v / (totals_ms[bar] or 1.0) for t, v in d.items()}
            for bar, d in times.items()
        }
    )
    shares = _cap_types(flops_share) if flops_share else {}
    types = type_order({t for d in [*times.values(), *shares.values()] for t in d})
    with style() as figs:
        ncols = 2 if shares else 1
        width = min(11.5, 0.9 * len(times) + 0.9 * len(shares) + 3.5)
        fig, axes = figs.subplots(
            1,
            ncols,
            figsize=(max(7.0, width), 4.4),
            squeeze=False,
            gridspec_kw={"width_ratios": [max(len(times), 1), max(len(shares), 1)][:ncols]},
        )
        for ax, data, ylabel, title in (
            (axes[0][0], times, "share of the time per call (%)", "Time by layer type"),
            *(
                ((axes[0][1], shares, "share of FLOPs (%)", "FLOPs by layer type"),)
                if shares
                else ()
            ),
        ):
            bars = list(data)
            bottom = [0.0] * len(bars)
            for i, t in enumerate(types):
                heights = [data[b].get(t, 0.0) for b in bars]
                if not any(heights):
                    continue
                # a taxonomy type keeps its colour in every figure
                c, hatch = (
                    (GREY, "//")
                    if t == OVERHEAD
                    else colour(TYPE_ORDER.index(t) if t in TYPE_ORDER else len(TYPE_ORDER) + i)
                )
                ax.bar(
                    range(len(bars)),
                    heights,
                    0.7,
                    bottom=bottom,
                    color=c,
                    hatch=hatch,
                    edgecolor="#333333",
                    linewidth=0.3,
                    label=t,
                )
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
            if data is times:  # the absolute time on top of each bar
                for x, bar in enumerate(bars):
                    ax.text(
                        x, 101, f"{fmt(totals_ms[bar])} ms", ha="center", va="bottom", fontsize=7
                    )
            ax.set_ylim(0, 109)
            ax.set_xticks(range(len(bars)))
            ax.set_xticklabels([short(b, 32) for b in bars], rotation=35, ha="right", fontsize=7)
            ax.set_ylabel(ylabel)
            ax.set_title(title)
        handles: dict[str, object] = {}
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
        ordered = [t for t in types if t in handles]
        fig.legend(
            [handles[t] for t in ordered],
            ordered,
            frameon=False,
            loc="center left",
            bbox_to_anchor=(1.0, 0.55),
        )
        fig.tight_layout()
        figure = render(
            fig,
            id="layer-types",
            title="Time and FLOPs by layer type",
            source="measured",
            caption="time: engine profiler, per call over the profiled calls, as a share of the "
            "end-to-end time (ms above each bar), overhead from the unprofiled end-to-end "
            "median; FLOPs: cost model (no error bars: one profile per run)",
            png=ctx.png,
        )
    table = Table(
        "layer-types-table",
        "Time and FLOPs by layer type",
        ("model", "target", "layer type", "time ms", "% of time", "% of FLOPs"),
        tuple(rows),
    )
    return Section(
        "layers",
        "Time by layer type",
        "Where a call's time goes, by layer type, next to where the FLOPs are: layers "
        "cheap in FLOPs can be expensive in time (seed 000, Fig. 2).",
        figures=(figure,),
        tables=(table,),
        notes=tuple(notes),
    )
