"""Predicted against measured latency (ms) or energy (mJ): the figure of ``cnnbench predict eval
--plot F`` and the panel the report's Prediction section draws (:func:`scatter_panel`, shared by
both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cnnbench.predict.evaluate import Evaluation

MARKERS = {"per-layer": "o", "macs-only": "x", "synergy": "^"}
COLOURS = {"per-layer": 0, "macs-only": 6, "synergy": 3}  # palette indices, dark enough for x
BAND = 0.10  # the shaded +-10 % band around the diagonal


def scatter_panel(
    ax: Axes, series: Mapping[str, Sequence[tuple[float, float]]], *, title: str, unit: str = "ms"
) -> None:
    """Predicted against measured figures (in ``unit``) on ``ax``, one marker per predictor
    (those of :data:`MARKERS`, in that order): log axes, the diagonal and its +-10 % band."""
    from cnnbench.report.figures import colour, log_axis

    values: list[float] = []
    for name, marker in MARKERS.items():
        points = [(x, y) for x, y in series.get(name, ()) if x > 0 and y > 0]
        if not points:
            continue
        x = [p[0] for p in points]
        y = [p[1] for p in points]
        values += x + y
        ax.scatter(x, y, marker=marker, label=name, alpha=0.7, color=colour(COLOURS[name])[0])
    if values:
        lo, hi = min(values), max(values)
        line = [lo, hi]
        ax.plot(line, line, color="black", linewidth=0.8)
        ax.fill_between(
            line, [v * (1 - BAND) for v in line], [v * (1 + BAND) for v in line], alpha=0.15
        )
        ax.legend(frameon=False)
    log_axis(ax, "x")
    log_axis(ax, "y")
    ax.set_xlabel(f"measured {unit}")
    ax.set_ylabel(f"predicted {unit}")
    ax.set_title(title)


def save_scatter(evals: Sequence[Evaluation], path: Path, engine: str) -> Path:
    """One panel per held-out split: predicted against measured figures (the evaluations'
    target unit), log axes, the diagonal and its +-10 % band."""
    from cnnbench.report.figures import style

    with style() as figs:
        fig, axes = figs.subplots(1, len(evals), figsize=(6 * len(evals), 5.5), squeeze=False)
        for ax, ev in zip(axes[0], evals, strict=True):
            series = {
                name: [(o.measured, o.predicted) for o in outcomes]
                for name, outcomes in ev.outcomes.items()
            }
            title = f"{engine}: {ev.target.name} held out by {ev.by}"
            scatter_panel(ax, series, title=title, unit=ev.target.unit)
        fig.tight_layout()
        fig.savefig(path)
    return path
