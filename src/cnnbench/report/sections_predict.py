"""Prediction: the saved latency and energy predictors of the records' machines and engines,
judged by their own leave-one-network-out cross-validation.

For each engine and machine id among the records, and each target (latency in ms, energy in
mJ per inference), the fit ``cnnbench predict fit`` saved
(:func:`cnnbench.predict.saved.model_path`) is read from its JSON file only: no predictor is
loaded, nothing is refitted or measured, so the report stays fast and needs no scikit-learn.
A fit that cannot be read, has another format or names another engine, machine or target
becomes a note; with no fit at all the section is left out. Each target has its own tables and
figure, in its own unit.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.predict.dataset import TARGETS
from cnnbench.predict.saved import (
    FORMAT,
    Fingerprint,
    fit_options,
    mismatch,
    model_path,
    read_fingerprint,
)
from cnnbench.report.doc import Context, FigureItem, Section, Table, slug
from cnnbench.report.figures import render, short, style
from cnnbench.report.predict import LABELS, ORDER
from cnnbench.report.predict_plot import MARKERS, scatter_panel
from cnnbench.results.record import ResultRecord

COLUMNS = (
    "predictor",
    "n",
    "MAPE % \u00b1 SD",
    "median %",
    "RMSPE %",
    "within \u00b15 %",
    "within \u00b110 %",
    "networks + probes",
    "threads",
    "created",
)


@dataclass(frozen=True)
class Fit:
    """One saved fit as its JSON file holds it."""

    path: Path
    fingerprint: Fingerprint
    summary: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.fingerprint.configuration} \u00b7 machine {self.fingerprint.machine_id}"

    @property
    def target(self) -> str:
        return self.fingerprint.target

    @property
    def unit(self) -> str:
        """The unit of the fit's figures (a fit saved before units were named: latency's)."""
        known = TARGETS.get(self.target)
        return str(self.summary.get("unit") or (known.unit if known else "ms"))


def saved_fits(records: Sequence[ResultRecord]) -> tuple[list[Fit], list[str]]:
    """The readable fits of the records' (engine, machine id, engine options) triples, and a
    note per fit that exists but cannot be used."""
    triples = dict.fromkeys(
        (r.spec.target.engine, str(r.machine.get("id")), fit_options(r.spec.target.options))
        for r in records
        if r.machine.get("id") is not None
    )
    fits: list[Fit] = []
    notes: list[str] = []
    for (engine, machine_id, options), target in ((p, t) for p in triples for t in TARGETS):
        path = model_path(target, engine, machine_id, options=options)
        if not path.exists():
            continue
        try:
            fp, doc = read_fingerprint(path)
        except BadInput as exc:
            notes.append(f"{engine}: {exc}")
            continue
        if doc.get("format") != FORMAT:
            notes.append(
                f"{engine}: fitted model {path} has format {doc.get('format')}, expected "
                f"{FORMAT}: not shown (cnnbench predict fit --target {target} -e {engine} "
                "fits again)"
            )
            continue
        why = mismatch(fp, machine_id, engine, options)
        if fp.target != target:
            why = "; ".join(filter(None, (why, f"it predicts {fp.target}, not {target}")))
        if why:
            notes.append(f"{engine}: fitted model {path} is not shown: {why}")
            continue
        fits.append(Fit(path, fp, doc))
    return fits, notes


def _date(created: str) -> str:
    """An ISO timestamp to the minute, ``-`` when unknown."""
    return created[:16].replace("T", " ") or "-"


def _pct(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}"


def _share(value: Any) -> str:
    return "-" if value is None else f"{100 * float(value):.0f} %"


def _predictors(summary: Mapping[str, Any]) -> list[str]:
    names = [*(summary.get("held_out_network") or {}), *(summary.get("unavailable") or {})]
    known = [p for p in ORDER if p in names]
    return known + sorted(set(names) - set(known))


def _cells(m: Mapping[str, Any]) -> tuple[str, ...]:
    """n, MAPE +- SD, median, RMSPE, within 5 and 10 % of one row of metrics."""
    return (
        str(int(m["n"])),
        f"{_pct(m['mape'])} \u00b1 {_pct(m['mape_sd'])}",
        _pct(m.get("median_ape")),
        _pct(m.get("rmspe")),
        _share(m.get("within_5")),
        _share(m.get("within_10")),
    )


def fit_table(fit: Fit) -> tuple[Table, list[str]]:
    """The fit's held-out-network errors per predictor, and a note per unavailable one."""
    s, fp = fit.summary, fit.fingerprint
    held = s.get("held_out_network") or {}
    unavailable = s.get("unavailable") or {}
    common = (
        f"{int(s.get('networks') or 0)} + {int(s.get('probes') or 0)}",
        str(fp.threads) if fp.threads is not None else "default",
        _date(fp.created),
    )
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for name in _predictors(s):
        label = LABELS.get(name, name)
        m = held.get(name)
        if not m:
            why = unavailable.get(name)
            # no held-out network predicted: a row without numbers, never a zero error
            state = "unavailable" if why else "none held out"
            rows.append((f"{label}: {state}", "0", *["-"] * 5, *common))
            if why:
                notes.append(f"{fp.configuration}: {label} unavailable: {why}")
            continue
        rows.append((label, *_cells(m), *common))
    if spread := s.get("repeat_spread"):  # the targets' own repeats, a floor under the rows
        rows.append(("repeats vs each other", *_cells(spread), *common))
        notes.append(
            f"{fp.configuration}: {int(s.get('profiles') or 0)} profiles joined by medians; "
            "'repeats vs each other' is each repeat against the median of its network's "
            "others: the targets' own spread, which no predictor can beat by much"
        )
    energy = fit.target != "latency"
    basis = s.get("basis") or fp.statistic
    what = (
        f"{fit.target.capitalize()} predictors ({basis} energy per inference, {fit.unit})"
        if energy
        else "Latency predictors"
    )
    how = (
        f"basis {basis}: {s.get('basis_note') or 'metered'}"
        if energy
        else (f"statistic {fp.statistic}")
    )
    table = Table(
        f"prediction-{'energy-' if energy else ''}{slug(fp.configuration)}-{slug(fp.machine_id)}",
        f"{what} on {fit.label}: leave-one-network-out",
        COLUMNS,
        tuple(rows),
        note=f"from {fit.path} ({how}" + (f", study {fp.study}" if fp.study else "") + ")",
    )
    if energy and s.get("without_per_kernel"):
        notes.append(
            f"{fp.configuration}: energy: no per-layer energy (network terms only, no kernel "
            f"model) for {', '.join(s['without_per_kernel'])}"
        )
    return table, notes


def _series(fit: Fit) -> dict[str, list[tuple[float, float]]]:
    outcomes = fit.summary.get("held_out_outcomes") or {}
    key = fit.unit.lower()
    return {
        name: [(float(o[f"measured_{key}"]), float(o[f"predicted_{key}"])) for o in rows]
        for name, rows in outcomes.items()
        if name in MARKERS
    }


def _figure(
    plotted: Sequence[tuple[Fit, dict[str, list[tuple[float, float]]]]], png: bool
) -> FigureItem:
    """One panel per fit of one target: its held-out networks' predicted against measured
    figures, in the target's unit."""
    target, unit = plotted[0][0].target, plotted[0][0].unit
    provenance = dict.fromkeys(
        f"machine {f.fingerprint.machine_id}, fitted {_date(f.fingerprint.created)}"
        for f, _ in plotted
    )
    caption = (
        "leave-one-network-out cross-validation of each saved fit: its own figures from its "
        "training runs, not measured in this report; line: predicted = measured, band "
        f"\u00b110 %; {'; '.join(provenance)}"
    )
    with style() as figs:
        fig, axes = figs.subplots(
            1, len(plotted), figsize=(4.6 * len(plotted) + 0.6, 4.4), squeeze=False
        )
        machines = {f.fingerprint.machine_id for f, _ in plotted}
        for ax, (fit, series) in zip(axes[0], plotted, strict=True):
            title = fit.fingerprint.configuration if len(machines) == 1 else short(fit.label, 44)
            scatter_panel(ax, series, title=title, unit=unit)
        fig.tight_layout()
        return render(
            fig,
            id="prediction" if target == "latency" else f"prediction-{slug(target)}",
            title=f"Predicted against measured {target} ({unit})",
            source="estimated",
            # lines as wide as the panels (the caption is stamped into the figure)
            caption=textwrap.fill(caption, 72 * len(plotted)),
            png=png,
        )


def prediction_section(records: Sequence[ResultRecord], ctx: Context) -> Section | None:
    fits, notes = saved_fits(records)
    if not fits and not notes:
        return None
    tables: list[Table] = []
    plotted: list[tuple[Fit, dict[str, list[tuple[float, float]]]]] = []
    for fit in fits:
        try:
            table, unavailable = fit_table(fit)
            series = _series(fit)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            notes.append(
                f"{fit.fingerprint.configuration}: fitted model {fit.path} cannot be read ({exc})"
            )
            continue
        tables.append(table)
        notes += unavailable
        if any(series.values()):
            plotted.append((fit, series))
        else:
            why = (
                "no held-out network was predicted"
                if "held_out_outcomes" in fit.summary
                else "the fit keeps no held-out outcomes (saved before they were kept; "
                "cnnbench predict fit again draws them)"
            )
            notes.append(f"{fit.fingerprint.configuration}: no figure: {why}")
    by_target: dict[str, list[tuple[Fit, dict[str, list[tuple[float, float]]]]]] = {}
    for fit, series in plotted:
        by_target.setdefault(fit.target, []).append((fit, series))
    figures = tuple(_figure(group, ctx.png) for group in by_target.values())
    return Section(
        "prediction",
        "Prediction",
        "The latency (and, where a meter measured it, energy) predictors saved by cnnbench "
        "predict fit for these engines on these machines, each judged on networks it never "
        "saw (leave-one-network-out). These are "
        "the fits' own cross-validation figures: nothing here was refitted or predicted for "
        "the runs of this report.",
        figures=figures,
        tables=tuple(tables),
        notes=tuple(notes),
    )
