"""Build a report from records (or a store) and write it: one HTML page, figures on request.

Without a study the report shows whatever the records hold (overview, latency, throughput,
time by layer type, targets compared) and the saved latency predictors of its engines and
machines; with one, the study's registered sections
(:func:`cnnbench.report.doc.register_study_report`). Both end with the warnings and the
machines. Needs matplotlib (the ``report`` extra).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.report.doc import Context, Report, Section, study_report
from cnnbench.results.record import ResultRecord, now_iso

Builder = Callable[[Sequence[ResultRecord], Context], "Section | None"]


def store_builders() -> list[Builder]:
    from cnnbench.report.sections_compare import engines_section
    from cnnbench.report.sections_layers import layers_section
    from cnnbench.report.sections_predict import prediction_section
    from cnnbench.report.sections_speed import latency_section, overview_section, throughput_section

    return [
        overview_section,
        latency_section,
        throughput_section,
        layers_section,
        engines_section,
        prediction_section,
    ]


def require_plotting() -> None:
    """A :class:`BadInput` naming the extra when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BadInput("the report needs matplotlib: pip install 'cnnbench[report]'") from None


def build_report(
    records: Sequence[ResultRecord],
    *,
    study: str | None = None,
    png: bool = False,
    peaks: dict[str, list[dict[str, Any]]] | None = None,
    store: str | None = None,
    extra: Sequence[Section] = (),
    store_sections: bool = True,
) -> Report:
    """The report of ``records`` (of study ``study`` when named); ``extra`` sections are added
    before the warnings and machines."""
    from cnnbench.report.sections_common import machines_section, warnings_section

    require_plotting()
    started = time.perf_counter()
    ctx = Context(records=records, png=png, peaks=peaks or {}, store=store)
    sections: list[Section] = []
    if study is not None:
        sr = study_report(study)
        chosen = list(sr.select(records)) if sr.select else list(records)
        ctx = Context(records=chosen, png=png, peaks=peaks or {}, store=store)
        sections += sr.build(chosen, ctx)
        title = f"cnnbench report: {sr.title}"
        records = chosen
    elif store_sections:
        for builder in store_builders():
            section = builder(records, ctx)
            if section is not None:
                sections.append(section)
    if study is None:
        title = "cnnbench report"
    sections += extra
    sections += [warnings_section(records, ctx), machines_section(records, ctx)]
    where = f"store {store}" if store else "records"
    subtitle = f"{len(records)} run(s) from {where}"
    return Report(title, subtitle, tuple(sections), now_iso(), time.perf_counter() - started)


def report_from_store(db: str | Path, *, study: str | None = None, png: bool = False) -> Report:
    """Every record of the store at ``db`` (with raw samples, for the comparisons)."""
    from cnnbench.store.sqlite import Store

    with Store(db, create=False) as store:
        records = list(store.iter_all(samples=True))
        peaks = {str(m.get("id")): store.peaks(str(m.get("id"))) for m in store.machines()}
    return build_report(records, study=study, png=png, peaks=peaks, store=str(db))


def write_report(report: Report, html: Path | None, figures: Path | None) -> list[Path]:
    """Write the page and, with ``figures``, every figure as PNG and SVG; returns the paths."""
    from cnnbench._fs import atomic_path
    from cnnbench.report.html import render_html

    written = []
    if html is not None:
        with atomic_path(html) as tmp:
            Path(tmp).write_text(render_html(report), encoding="utf-8")
        written.append(html)
    if figures is not None:
        figures.mkdir(parents=True, exist_ok=True)
        for section in report.sections:
            for f in section.figures:
                svg = figures / f"{f.id}.svg"
                svg.write_text('<?xml version="1.0" encoding="utf-8"?>\n' + f.svg, encoding="utf-8")
                written.append(svg)
                if f.png is not None:
                    png = figures / f"{f.id}.png"
                    png.write_bytes(f.png)
                    written.append(png)
    return written
