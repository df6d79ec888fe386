"""Figure shapes the study reports share: small multiples of lines with CI95 error bars, and a
heat map with failed cells marked."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnnbench.report.doc import FigureItem
from cnnbench.report.figures import colour, log_axis, render, short, style, wants_log

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    lo: float | None = None  # CI95, where known
    hi: float | None = None
    failed: str | None = None  # a status: drawn as an x at the panel's floor, y ignored


Panels = Mapping[str, Mapping[str, Sequence[Point]]]  # panel title -> series -> points


def _series(ax: Axes, j: int, name: str, points: Sequence[Point], floor: float) -> None:
    c, _ = colour(j)
    ok = sorted((p for p in points if p.failed is None), key=lambda p: p.x)
    ys = [p.y for p in ok]
    err = [
        [p.y - (p.lo if p.lo is not None else p.y) for p in ok],
        [(p.hi if p.hi is not None else p.y) - p.y for p in ok],
    ]
    ax.errorbar(
        [p.x for p in ok],
        ys,
        yerr=err,
        color=c,
        marker="os^vD<>ph*"[j % 10],
        markersize=3.5,
        capsize=2,
        linewidth=1.2,
        label=short(name, 36),
    )
    for p in points:
        if p.failed is not None:
            ax.plot([p.x], [floor], marker="x", color=c, markersize=7, linestyle="none")
            ax.annotate(
                p.failed,
                (p.x, floor),
                fontsize=7,
                color=c,
                xytext=(3, 3),
                textcoords="offset points",
            )


def line_grid(
    panels: Panels,
    *,
    id: str,
    title: str,
    caption: str,
    source: str,
    xlabel: str,
    ylabel: str,
    png: bool,
    log_x: bool = False,
    log_y: bool | None = None,
    reference: float | None = None,
    cols: int = 3,
) -> FigureItem:
    """One panel per key of ``panels``, one line per series (the same colour in every panel),
    CI95 error bars where a point has them, failed points as an x with their status."""
    names = list(dict.fromkeys(s for series in panels.values() for s in series))
    cols = max(1, min(cols, len(panels)))
    rows = max(1, math.ceil(len(panels) / cols))
    width = {1: 7.5, 2: 5.2}.get(cols, 4.0)
    with style() as figs:
        fig, axes = figs.subplots(
            rows, cols, figsize=(width * cols, 3.1 * rows + 0.6), squeeze=False
        )
        for ax, (panel, series) in zip(axes.flat, panels.items(), strict=False):
            values = [p.y for pts in series.values() for p in pts if p.failed is None]
            floor = min(values) if values else 1.0
            for name, points in series.items():
                _series(ax, names.index(name), name, points, floor)
            xs = sorted({p.x for pts in series.values() for p in pts})
            if log_x and xs and min(xs) > 0:
                ax.set_xscale("log", base=2)
                ax.minorticks_off()
            if xs:
                ax.set_xticks(xs)
                ax.set_xticklabels([f"{x:g}" for x in xs])
            if log_y if log_y is not None else wants_log(values, 10.0):
                log_axis(ax, "y")
            if reference is not None:
                ax.axhline(reference, color="#333333", linewidth=0.8, linestyle="--")
            ax.set_title(short(panel, 48))
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        handles: dict[str, object] = {}
        for ax in axes.flat:
            for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(label, h)
        fig.suptitle(title)
        fig.tight_layout()
        if handles:
            fig.legend(
                list(handles.values()),
                list(handles),
                frameon=False,
                loc="upper center",
                ncols=min(4, len(handles)),
                bbox_to_anchor=(0.5, 0.0),
            )
        return render(fig, id=id, title=title, source=source, caption=caption, png=png)


def heat_map(
    cells: Mapping[tuple[int, int], float | str],
    rows: Sequence[int],
    cols: Sequence[int],
    *,
    id: str,
    title: str,
    caption: str,
    row_label: str,
    col_label: str,
    value_label: str,
    png: bool,
) -> FigureItem:
    """A grid of values (lower is better: darker is faster); a string cell is a failed point
    (drawn hatched, its status written in it); a missing cell was not planned."""
    import numpy as np

    grid = np.full((len(rows), len(cols)), np.nan)
    for (r, c), v in cells.items():
        if isinstance(v, float):
            grid[rows.index(r), cols.index(c)] = v
    with style() as figs:
        fig, ax = figs.subplots(figsize=(1.1 * len(cols) + 3.2, 0.7 * len(rows) + 1.8))
        ax.grid(False)
        image = ax.imshow(grid, cmap="viridis", aspect="auto")
        fig.colorbar(image, ax=ax, label=value_label)
        finite = grid[np.isfinite(grid)]
        mid = float(np.nanmean(finite)) if finite.size else 0.0
        for (r, c), v in cells.items():
            i, j = rows.index(r), cols.index(c)
            if isinstance(v, str):
                ax.add_patch(
                    _rect(j, i, hatch="xx", fill=False, edgecolor="#CC3311", linewidth=0.0)
                )
                ax.text(j, i, v, ha="center", va="center", fontsize=8, color="#CC3311")
            else:
                ax.text(
                    j,
                    i,
                    f"{v:.3g}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="#FFFFFF" if v < mid else "#000000",
                )
        for i in range(len(rows)):
            for j in range(len(cols)):
                if (rows[i], cols[j]) not in cells:
                    ax.text(j, i, "-", ha="center", va="center", fontsize=8, color="#777777")
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels([str(c) for c in cols])
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([str(r) for r in rows])
        ax.set_xlabel(col_label)
        ax.set_ylabel(row_label)
        ax.set_title(title)
        return render(fig, id=id, title=title, source="measured", caption=caption, png=png)


def _rect(x: float, y: float, **kw: object) -> object:
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1.0, 1.0, **kw)  # type: ignore[arg-type]
