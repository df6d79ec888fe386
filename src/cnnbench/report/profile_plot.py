"""Stacked bars of profile records: time by layer type per run, one panel per engine.

Like seed 000's Fig. 2: each bar is one run (model, thread count), its segments the share of
the unprofiled end-to-end time each layer type took, the overhead (what no layer accounts for)
on top. A negative overhead (the profiler's own cost exceeds it) is drawn as zero and the bar's
label says so. Matplotlib with the Agg backend; the format follows the file's suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.results.profile import OVERHEAD, type_shares
from cnnbench.results.record import ResultRecord

SUFFIXES = (".png", ".svg", ".pdf")
# Okabe-Ito, colour-blind safe; past seven types the colours repeat with a hatch. Overhead is
# always light grey, on top.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
HATCHES = ("", "//", "..", "xx")
OVERHEAD_COLOUR = "#BBBBBB"


def check_plot_path(path: Path) -> None:
    """A figure path must have a known suffix and a folder that exists (checked up front)."""
    if path.suffix.lower() not in SUFFIXES:
        raise BadInput(f"--plot {path}: use a file ending in {', '.join(SUFFIXES)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise BadInput(f"--plot {path}: folder {parent} does not exist")


def _label(rec: ResultRecord) -> str:
    threads = rec.effective.threads or rec.spec.target.threads
    label = rec.spec.model.name + (f"\n{threads} thr" if threads else "")
    if rec.profile is not None and rec.profile.overhead_ms < 0:
        label += "\n(overhead<0)"
    return label


def save_type_bars(records: Sequence[ResultRecord], path: Path) -> Path:
    """Write the figure of ``records`` (mode profile, ok) to ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    check_plot_path(path)
    engines = list(dict.fromkeys(r.spec.target.engine for r in records))
    shares: dict[str, dict[str, float]] = {}
    weight: dict[str, float] = {}
    for rec in records:
        assert rec.profile is not None
        row = {
            t.layer_type: max(0.0, t.time_share or 0.0)
            for t in type_shares(rec.layers, rec.profile.end_to_end_ms)
        }
        shares[rec.id] = row
        for kind, value in row.items():
            if kind != OVERHEAD:
                weight[kind] = weight.get(kind, 0.0) + value
    kinds = sorted(weight, key=lambda k: -weight[k])  # the biggest types get the first colours
    style = {
        k: (PALETTE[i % len(PALETTE)], HATCHES[(i // len(PALETTE)) % len(HATCHES)])
        for i, k in enumerate(kinds)
    }
    style[OVERHEAD] = (OVERHEAD_COLOUR, "")
    width = max(5.0, 1.2 * len(records) + 1.5)
    fig, axes = plt.subplots(1, len(engines), figsize=(width, 5.2), squeeze=False, sharey=True)
    for ax, engine in zip(axes[0], engines, strict=True):
        mine = [r for r in records if r.spec.target.engine == engine]
        xs = range(len(mine))
        bottom = [0.0] * len(mine)
        for kind in [*kinds, OVERHEAD]:
            heights = [100 * shares[r.id].get(kind, 0.0) for r in mine]
            if not any(heights):
                continue
            colour, hatch = style[kind]
            ax.bar(
                xs,
                heights,
                0.7,
                bottom=bottom,
                color=colour,
                hatch=hatch,
                edgecolor="white",
                linewidth=0.5,
                label=kind,
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(list(xs), [_label(r) for r in mine], fontsize=8)
        ax.set_title(engine)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("share of end-to-end time (%)")
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="lower center",
        ncol=min(4, len(handles)),
        fontsize=8,
        frameon=False,
    )
    fig.suptitle("Time by layer type (measured by each engine's profiler)", fontsize=10)
    fig.text(
        0.5,
        0.005,
        "overhead = unprofiled end-to-end - sum of layer medians",
        ha="center",
        fontsize=7,
        color="#555555",
    )
    rows = -(-len(handles) // 4)
    fig.tight_layout(rect=(0, 0.04 + 0.045 * rows, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)
    return path
