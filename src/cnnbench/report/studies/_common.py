"""What the study reports share: a study's records picked from a store, its findings and the
paper's figures as tables, and the lines that say why a figure could not be drawn.

A record belongs to a study when its named target (``spec.target.name``, which the study runner
writes into every record: :func:`cnnbench.studies.plan.plan_study`) is one of the study's
targets and its model one of the study's models, in the full or the quick variant. Nothing
depends on the machine that builds the report, so a store measured elsewhere reports the same.
The newest ok record per configuration and machine is the study's result there, as
:func:`cnnbench.studies.runner.study_results` picks it from the store.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from cnnbench.report.doc import Table
from cnnbench.results.record import ResultRecord
from cnnbench.studies.findings import Finding
from cnnbench.studies.metrics import MODE_OF, PROBES
from cnnbench.studies.plan import StudyPoint, load_study
from cnnbench.studies.runner import StudyResult
from cnnbench.studies.schema import Study

FINDINGS_SHOWN = 8  # per kind, the strongest first (as the finders order them)
FINDINGS_COLUMNS = ("where", "significant", "statement", "runs")


@functools.lru_cache(maxsize=16)
def variants(name: str) -> tuple[Study, Study]:
    """The shipped study ``name``: its full and its quick variant."""
    return load_study(name), load_study(name, quick=True)


def selector(name: str) -> Callable[[Sequence[ResultRecord]], list[ResultRecord]]:
    """The records of study ``name``: its named targets and models, either variant."""

    def select(records: Sequence[ResultRecord]) -> list[ResultRecord]:
        studies = variants(name)
        targets = {t.name for s in studies for t in s.targets}
        models = {_canonical(m) for s in studies for m in s.all_models}
        return [r for r in records if r.spec.target.name in targets and r.spec.model.name in models]

    return select


def _canonical(model: str) -> str:
    """A study's model reference as records name it (patterns' query keys in their order)."""
    if model.startswith("pattern/"):
        from cnnbench.models.patterns import canonical_name

        return canonical_name(model)
    return model


def metrics_of(study: Study, rec: ResultRecord) -> tuple[str, ...]:
    """The study's metrics a record serves (by its mode; energy and counters ride on latency)."""
    out = []
    for metric in study.metrics:
        mode = MODE_OF.get(metric, "latency")  # workload, energy, counters: latency specs
        if metric in PROBES and rec.spec.mode != "latency":
            continue
        if mode == rec.spec.mode:
            out.append(metric)
    return tuple(out)


def newest_ok(records: Sequence[ResultRecord]) -> list[ResultRecord]:
    """The newest ok record per configuration (spec hash) and machine, in first-seen order."""
    out: dict[tuple[str, object], ResultRecord] = {}
    for rec in sorted((r for r in records if r.status == "ok"), key=lambda r: r.created):
        out[(rec.spec.spec_hash(), rec.machine.get("id"))] = rec
    return list(out.values())


def study_results(study: Study, records: Sequence[ResultRecord]) -> list[StudyResult]:
    """The findings' input: one :class:`StudyResult` per configuration measured."""
    out = []
    for rec in newest_ok(records):
        metrics = metrics_of(study, rec)
        out.append(StudyResult(StudyPoint(rec.spec, metrics), rec, metrics))
    return out


def findings_tables(findings: Sequence[Finding], id: str) -> tuple[Table, ...]:
    """One table per kind of finding (the strongest :data:`FINDINGS_SHOWN` of each, as the
    finders order them); a line when there is none."""
    kinds: dict[str, list[Finding]] = {}
    for f in findings:
        kinds.setdefault(f.kind, []).append(f)
    tables = []
    for kind, found in kinds.items():
        rows = tuple(
            (
                f.where or "-",
                "-" if f.significant is None else ("yes" if f.significant else "no"),
                f.statement,
                " ".join(s[:8] for s in f.sources[:6]) + (" ..." if len(f.sources) > 6 else ""),
            )
            for f in found[:FINDINGS_SHOWN]
        )
        more = len(found) - FINDINGS_SHOWN
        tables.append(
            Table(
                f"{id}-{kind}",
                f"Finding: {kind} ({len(found)})",
                FINDINGS_COLUMNS,
                rows,
                note=(
                    f"... and {more} more (cnnbench study NAME --json has them all). "
                    if more > 0
                    else ""
                )
                + "Computed from this store's records (cnnbench.studies.findings); significant: "
                "the CI95 of the medians do not overlap ('-': the finding has no test).",
            )
        )
    if not tables:
        tables.append(
            Table(
                id,
                "Findings",
                FINDINGS_COLUMNS,
                (),
                note="No finding: too few configurations measured for any finder.",
            )
        )
    return tuple(tables)


def paper_table(study: Study, here: Mapping[str, str], id: str) -> Table:
    """The paper's figures (the study file's ``paper:`` block) next to this store's."""
    rows = tuple(
        (key, text, here.get(key, "not computed from these records")) for key, text in study.paper
    )
    seed = f" (seed {study.seed})" if study.seed else ""
    return Table(
        id,
        f"The paper{seed} against these measurements",
        ("figure", "the paper", "here"),
        rows,
        note="The paper's figures are quoted from the study file; 'here' is measured on the "
        "machine(s) of this store, with other processors, engines and sizes than the paper's.",
    )


def commonest(reasons: Sequence[str | None]) -> str:
    """The most frequent reason, and how many others there are."""
    counts = Counter(r or "no reason recorded" for r in reasons)
    if not counts:
        return "no records"
    top, rest = counts.most_common(1)[0][0], len(counts) - 1
    return top + (f" (and {rest} other reason(s))" if rest else "")


def fmt_x(value: float, ci95: tuple[float, float] | None = None) -> str:
    """``3.41x (CI95 3.20-3.62)``."""
    text = f"{value:.2f}x"
    return text + (f" (CI95 {ci95[0]:.2f}-{ci95[1]:.2f})" if ci95 else "")
