"""The report as data: sections of figures and tables, and the registry of study sections.

Nothing here draws or writes HTML: :mod:`cnnbench.report.figures` makes :class:`FigureItem`
objects, :mod:`cnnbench.report.html` turns a :class:`Report` into one self-contained page. A
study adds its own sections by registering a builder under its name
(:func:`register_study_report`); ``cnnbench report --study NAME`` finds it there.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput
from cnnbench.results.record import ResultRecord

if TYPE_CHECKING:
    import pandas as pd

SOURCES = ("measured", "simulated", "estimated")


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells (escaped when written)."""

    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str | None = None

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.id}: a row has {len(row)} cells, not {len(self.columns)}"
                )


@dataclass(frozen=True)
class FigureItem:
    """One figure: its SVG (inlined in the page), its PNG (for ``--figures``) and labels.

    ``source`` says where its numbers come from (measured, simulated or estimated) and
    ``caption`` what its error bars are; both are printed under it and drawn into it.
    """

    id: str
    title: str
    caption: str
    source: str
    svg: str
    png: bytes | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"figure {self.id}: source {self.source!r} is not one of {SOURCES}")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str | None = None
    figures: tuple[FigureItem, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()  # warnings or caveats, one line each


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    sections: tuple[Section, ...]
    generated: str
    build_s: float | None = None


@dataclass
class Context:
    """What section builders may use besides the records."""

    records: Sequence[ResultRecord]
    png: bool = False  # render PNGs too (``--figures DIR``)
    peaks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # machine id -> rows
    store: str | None = None
    _frame: pd.DataFrame | None = None

    @property
    def frame(self) -> pd.DataFrame:
        """The records as a DataFrame (:func:`cnnbench.report.frame.records_frame`)."""
        if self._frame is None:
            from cnnbench.report.frame import records_frame

            self._frame = records_frame(self.records)
        return self._frame


SectionBuilder = Callable[[Sequence[ResultRecord], Context], list[Section]]
RecordSelector = Callable[[Sequence[ResultRecord]], list[ResultRecord]]


@dataclass(frozen=True)
class StudyReport:
    """How one study is reported: which of the store's records are its own, and its sections
    (paper-style figures, tables, findings). The machines and warnings sections are added to
    every report."""

    name: str
    title: str
    build: SectionBuilder
    select: RecordSelector | None = None  # None: every record of the store


STUDY_REPORTS: dict[str, StudyReport] = {}


def register_study_report(
    name: str, *, title: str | None = None, select: RecordSelector | None = None
) -> Callable[[SectionBuilder], SectionBuilder]:
    """Register a study's section builder under the study's name (a decorator)."""

    def deco(build: SectionBuilder) -> SectionBuilder:
        if name in STUDY_REPORTS:
            raise ValueError(f"a report for study {name!r} is registered already")
        STUDY_REPORTS[name] = StudyReport(name, title or name, build, select)
        return build

    return deco


def load_study_reports() -> None:
    """Import every module of :mod:`cnnbench.report.studies` (each registers its study)."""
    import importlib
    import pkgutil

    from cnnbench.report import studies

    for info in pkgutil.iter_modules(studies.__path__, studies.__name__ + "."):
        importlib.import_module(info.name)


def study_report(name: str) -> StudyReport:
    """The registered report of study ``name``, or a :class:`BadInput` listing the known ones."""
    load_study_reports()
    if name in STUDY_REPORTS:
        return STUDY_REPORTS[name]
    known = sorted(STUDY_REPORTS)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    listing = ", ".join(known) if known else "none registered yet"
    raise BadInput(f"no report for study {name[:60]!r} (known: {listing}){hint}")


def slug(text: str) -> str:
    """An id for HTML from any text (letters, digits and dashes)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"
