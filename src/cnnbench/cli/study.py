"""``cnnbench study list | NAME | FILE.yaml [--quick] [--fresh] [--targets F] [--json F]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cnnbench.cli._common import (
    check_store,
    emit_json,
    environment,
    err,
    open_store,
    tables_console,
    text_arg,
)


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser(
        "study", parents=parents, help="run a declarative study (resumes by default)"
    )
    s.add_argument("study", type=text_arg, metavar="list|NAME|FILE.yaml")
    s.add_argument("--quick", action="store_true", help="the study's quick variant")
    s.add_argument(
        "--fresh", action="store_true", help="measure again what is already measured here"
    )
    s.add_argument("--targets", type=text_arg, metavar="FILE", help="your named targets (YAML)")
    s.add_argument(
        "--executor", type=text_arg, default="local", help="where workers run: local or ray"
    )
    s.add_argument(
        "--address",
        type=text_arg,
        help="with --executor ray: auto or HOST:PORT of the Ray head (default: a local Ray)",
    )
    s.add_argument(
        "--plan", action="store_true", help="print the configurations and exit (measure nothing)"
    )
    s.set_defaults(func=cmd_study)


def _list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from cnnbench.studies.plan import load_study, shipped_studies

    table = Table(title="studies (cnnbench study NAME [--quick])", header_style="bold")
    for col in ("name", "seed", "title", "file"):
        table.add_column(col)
    rows = []
    for name, path in shipped_studies().items():
        study = load_study(name)
        rows.append({"name": name, "seed": study.seed, "title": study.title, "file": str(path)})
        table.add_row(name, study.seed or "-", study.title, str(path))
    tables_console(args).print(table)
    if args.json:
        emit_json(rows, args.json)
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    if args.study == "list":
        return _list(args)
    from cnnbench.cli._execution import measuring
    from cnnbench.execute.executors import get_executor
    from cnnbench.report.study_tables import findings_table, summary_table
    from cnnbench.report.tables import runs_table
    from cnnbench.studies.findings import all_findings
    from cnnbench.studies.plan import load_study, plan_study
    from cnnbench.studies.runner import StudyEvents, run_study, study_results

    targets = Path(args.targets) if args.targets is not None else None
    if targets is not None and not targets.is_file():
        from cnnbench.errors import BadInput

        raise BadInput(f"--targets: {args.targets!r} is not a file")
    study = load_study(args.study, quick=args.quick, targets=targets)
    plan = plan_study(study)  # everything validated before anything runs
    console = tables_console(args)
    if args.plan:
        for point in plan.points:
            s = point.spec
            console.print(
                f"{point.target:16} {s.target.engine:11} {s.mode:10} b{s.batch:<3} "
                f"{s.target.precision} t{s.target.threads or '-'} s{s.target.streams} "
                f"{s.model.name}  [{', '.join(point.metrics)}]",
                markup=False,
                highlight=False,
            )
        for note in plan.notes:
            err.print(f"not planned: {note}", markup=False)
        return 0
    # An unknown executor or a bad address: BadInput before anything runs.
    executor = get_executor(args.executor, address=args.address)
    check_store(args)
    store = open_store(args)
    env = environment()
    for note in plan.notes:
        err.print(f"not planned: {note}", markup=False)
    with measuring(executor, time_left=True) as bar:
        task = bar.add_task(f"study {study.name}", total=None)

        def total(n: int) -> None:
            bar.update(task, total=n, completed=0)

        def started(label: str) -> None:
            bar.update(task, description=label[:60])
            bar.advance(task, 1)

        def chunk_done(n: int) -> None:  # the tasks of every spec stored or skipped so far
            bar.update(task, completed=n)

        def record(rec: Any) -> None:
            if rec.status != "ok":
                s = rec.spec
                err.print(
                    f"{s.target.name} {s.target.engine} {s.model.name}: {rec.status}: "
                    f"{(rec.error or '')[:100]}",
                    markup=False,
                    soft_wrap=True,
                )

        events = StudyEvents(total=total, task=started, chunk_done=chunk_done, record=record)
        run = run_study(plan, store, env, executor=executor, fresh=args.fresh, events=events)
    results = study_results(plan, store, str(env.machine["id"]))
    store.close()
    images = study.settings.workload_images if "workload" in study.metrics else 0
    findings = all_findings(results, workload_images=images)
    records = sorted(
        (r.record for r in results),
        key=lambda r: (r.spec.target.name or "", r.spec.mode, r.spec.model.name),
    )
    records += list(run.failed)
    if records:
        console.print(runs_table(records, title=f"study {study.name} -> {store.path}"))
    console.print(findings_table(findings, f"findings of {study.name} ({len(findings)})"))
    summary = run.summary()
    console.print(summary_table(summary))
    if args.json:
        emit_json(
            {
                "summary": summary,
                "records": [r.id for r in records],
                "failed": [
                    {"id": r.id, "status": r.status, "error": r.error, "spec": r.spec.to_dict()}
                    for r in run.failed
                ],
                "findings": [f.to_json() for f in findings],
            },
            args.json,
        )
    return 0 if not run.failed else 1
