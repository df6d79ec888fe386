"""The predicted-against-measured figure of ``cnnbench predict eval --plot F``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnbench.predict.evaluate import Evaluation

MARKERS = {"per-layer": "o", "macs-only": "x", "synergy": "^"}


def save_scatter(evals: Sequence[Evaluation], path: Path, engine: str) -> Path:
    """One panel per held-out split: predicted against measured ms, log axes, the diagonal
    and its +-10 % band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(evals), figsize=(6 * len(evals), 5.5), squeeze=False)
    for ax, ev in zip(axes[0], evals, strict=True):
        values: list[float] = []
        for name, marker in MARKERS.items():
            outcomes = ev.outcomes.get(name, ())
            if not outcomes:
                continue
            x = [o.measured_ms for o in outcomes]
            y = [o.predicted_ms for o in outcomes]
            values += x + y
            ax.scatter(x, y, marker=marker, label=name, alpha=0.7)
        if values:
            lo, hi = min(v for v in values if v > 0), max(values)
            line = [lo, hi]
            ax.plot(line, line, color="black", linewidth=0.8)
            ax.fill_between(line, [v * 0.9 for v in line], [v * 1.1 for v in line], alpha=0.15)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("measured ms")
        ax.set_ylabel("predicted ms")
        ax.set_title(f"{engine}: held out by {ev.by}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
