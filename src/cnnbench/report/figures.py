"""Figure primitives: one style, colour-blind-safe colours, rendering to SVG and PNG.

Every figure carries its source (measured, simulated, estimated) and what its error bars are,
drawn into the figure (so a saved PNG keeps them) and repeated in the page's caption. Labels
from user-supplied names are drawn as plain text (math text off), and the SVG writer escapes
them as XML.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cnnbench.report.doc import FigureItem

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Paul Tol's "muted" scheme (colour-blind safe), then Okabe-Ito for more series; beyond that
# colours repeat with hatching.
PALETTE = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
    "#E69F00",
    "#0072B2",
    "#D55E00",
)
GREY = "#BBBBBB"
HATCHES = ("", "//", "..", "xx")
Value = tuple[float, float | None, float | None]  # value, CI95 low, CI95 high


def colour(i: int) -> tuple[str, str]:
    """The colour and hatch of series ``i``."""
    return PALETTE[i % len(PALETTE)], HATCHES[(i // len(PALETTE)) % len(HATCHES)]


STYLE: dict[str, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "svg.fonttype": "none",  # text stays text: small, searchable, escaped by the SVG writer
    "text.parse_math": False,  # a name with "$" is text, not math
    "figure.dpi": 100,
    "savefig.dpi": 150,
}


@contextmanager
def style() -> Iterator[Any]:
    """The report's style; yields an object whose ``subplots`` makes a figure. Figures are
    made without pyplot: no global backend is switched, nothing stays open."""
    import matplotlib

    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        yield _Figures()


class _Figures:
    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kw: Any) -> Any:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols, **kw)


_SVG_SALT = itertools.count()


def render(
    fig: Figure, *, id: str, title: str, source: str, caption: str, png: bool = False
) -> FigureItem:
    """Stamp the source and caption into ``fig``, render it and close it."""
    import matplotlib

    # Above everything (titles included), where no legend or axis label can be.
    fig.text(
        0.0,
        1.0,
        f"source: {source} \u00b7 {caption}",
        fontsize=7,
        color="#555555",
        ha="left",
        va="bottom",
        transform=fig.transFigure,
    )
    buf = io.StringIO()
    # A salt per figure: clip-path ids stay unique when several SVGs share one page.
    with matplotlib.rc_context({"svg.hashsalt": f"cnnbench-{id}-{next(_SVG_SALT)}"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    data = None
    if png:
        pbuf = io.BytesIO()
        fig.savefig(pbuf, format="png", bbox_inches="tight")
        data = pbuf.getvalue()
    return FigureItem(id=id, title=title, caption=caption, source=source, svg=svg, png=data)


def wants_log(values: Sequence[float], spread: float = 20.0) -> bool:
    """A log axis when the positive values span more than ``spread`` times."""
    pos = [v for v in values if v > 0]
    return len(pos) > 1 and max(pos) / min(pos) > spread


def short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def tick_label(text: str, width: int = 20, lines: int = 3) -> str:
    """A long label broken into lines before ``?``, ``&``, ``/`` or a space (at most
    ``lines`` lines of about ``width`` characters), the rest elided."""
    if len(text) <= width:
        return text
    out, line = [], ""
    for piece in re.split(r"(?=[?&/ ])", text):
        if line and len(line) + len(piece) > width:
            out.append(line)
            line = piece.lstrip(" ")
        else:
            line += piece
    out.append(line)
    if len(out) > lines:
        out = [*out[: lines - 1], short(" ".join(out[lines - 1 :]), width)]
    return "\n".join(short(x, width + 8) for x in out)


def grouped_bars(
    ax: Axes,
    groups: Sequence[str],
    series: Sequence[str],
    values: Mapping[tuple[str, str], Value],
    *,
    ylabel: str,
    log: bool | None = None,
) -> None:
    """Bars per group (x) and series (colour), CI95 error bars where known; a missing value
    leaves a gap marked 'n/a' (never a zero-height bar)."""
    n = max(len(series), 1)
    width = 0.8 / n
    all_values = [v[0] for v in values.values()]
    for j, name in enumerate(series):
        c, hatch = colour(j)
        xs, hs, lo, hi = [], [], [], []
        for i, g in enumerate(groups):
            x = i - 0.4 + width * (j + 0.5)
            v = values.get((g, name))
            if v is None:
                continue
            value, low, high = v
            xs.append(x)
            hs.append(value)
            lo.append(value - low if low is not None else 0.0)
            hi.append(high - value if high is not None else 0.0)
        ax.bar(
            xs,
            hs,
            width * 0.95,
            color=c,
            hatch=hatch,
            edgecolor="#333333",
            linewidth=0.4,
            label=short(name, 40),
        )
        ax.errorbar(xs, hs, yerr=[lo, hi], fmt="none", ecolor="#000000", elinewidth=0.8, capsize=2)
    ax.set_xticks(range(len(groups)))
    tilt = len(groups) > 6
    ax.set_xticklabels(
        [tick_label(g) for g in groups],
        rotation=20 if tilt else 0,
        ha="right" if tilt else "center",
        fontsize=8,
    )
    ax.set_ylabel(ylabel)
    if log if log is not None else wants_log(all_values):
        log_axis(ax, "y")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # clear of labels


def _plain(value: float, _pos: object = None) -> str:
    return f"{value:g}"


def _minor(value: float, _pos: object = None) -> str:
    if value <= 0:
        return ""
    lead = round(value / 10 ** math.floor(math.log10(value) + 1e-9), 6)
    return f"{value:g}" if lead in (2.0, 5.0) else ""


def log_axis(ax: Axes, which: str = "y") -> None:
    """A log scale with plain tick labels (1, 2, 5, 10; no math text)."""
    from matplotlib.ticker import FuncFormatter

    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(FuncFormatter(_minor))


# Ratio ticks by how wide the axis is: decades and halves, then thirds, then 5 % steps.
RATIO_TIERS = (
    (
        4.0,
        (
            0.001,
            0.01,
            0.02,
            0.05,
            0.1,
            0.2,
            0.5,
            1.0,
            2.0,
            5.0,
            10.0,
            20.0,
            50.0,
            100.0,
            200.0,
            500.0,
            1000.0,
        ),
    ),
    (1.4, (0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)),
    (0.0, (0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.25)),
)


def log2_batches(ax: Axes, batches: Sequence[int]) -> None:
    """A base-2 log x axis labelled with the batches measured."""
    ax.set_xscale("log", base=2)
    ticks = sorted(set(batches))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(b) for b in ticks])
    ax.minorticks_off()


def ratio_axis(ax: Axes, lows: Sequence[float], highs: Sequence[float]) -> None:
    """A log x axis for ratios that always shows 1 and at least 0.9 to 1.1."""
    values = [v for v in [*lows, *highs] if v > 0] or [1.0]
    lo = min(min(values), 1 / 1.1) / 1.25
    hi = max(max(values), 1.1) * 1.25
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    spread = hi / lo
    tier = next(ticks for above, ticks in RATIO_TIERS if spread >= above**2)
    ticks = [t for t in tier if lo <= t <= hi]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.axvline(1.0, color="#333333", linewidth=0.8)
