"""``cnnbench results list | show ID | export | import FILE | compare A B``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from cnnbench.cli._common import (
    emit_json,
    err,
    int_in,
    open_store,
    shown,
    store_path,
    tables_console,
    text_arg,
)
from cnnbench.errors import BadInput
from cnnbench.spec import LIST_LIMIT


def add_parser(sub: Any, db: argparse.ArgumentParser, js: argparse.ArgumentParser) -> None:
    from cnnbench.cli._common import Parser
    from cnnbench.results.record import STATUSES

    s = sub.add_parser("results", help="list, show, export or import stored results")
    rs = s.add_subparsers(dest="action", required=True, parser_class=Parser)
    for name in ("list", "export"):
        r = rs.add_parser(name, parents=[db] + ([js] if name == "list" else []))
        r.add_argument("--model", type=text_arg)
        r.add_argument("--engine", type=text_arg)
        r.add_argument("--status", choices=STATUSES)
        if name == "list":
            r.add_argument(
                "--limit",
                type=int_in(LIST_LIMIT),
                default=50,
                help=f"rows at most ({LIST_LIMIT.short}; default 50)",
            )
        else:
            r.add_argument("-o", "--output", type=text_arg, help="output file (default stdout)")
            r.add_argument(
                "--format",
                choices=("jsonl", "csv"),
                default="jsonl",
                help="jsonl: whole records (re-importable); csv: one flat row per record",
            )
        r.set_defaults(func=cmd_results)
    r = rs.add_parser("show", parents=[db, js])
    r.add_argument("id", type=text_arg, help="a run id, or a unique prefix of one")
    r.add_argument("--layers", action="store_true", help="a profile's every layer, not by type")
    r.set_defaults(func=cmd_results)
    from cnnbench.cli.compare import add_compare

    add_compare(rs, db, js)
    r = rs.add_parser("import", parents=[db])
    r.add_argument("file", type=text_arg, help="JSON lines file of result records")
    r.set_defaults(func=cmd_results)


def cmd_results(args: argparse.Namespace) -> int:
    if args.action == "import":
        return _import(args)

    with open_store(args, create=False) as store:
        if args.action == "show":
            return _show(args, store)
        filters = {"model": args.model, "engine": args.engine, "status": args.status}
        if args.action == "export":
            return _export(args, store, filters)
        from cnnbench.report.tables import runs_list_table

        records = store.query(**filters, limit=args.limit)
        if args.json:
            emit_json([r.to_json(samples=False) for r in records], args.json)
        else:
            tables_console(args).print(runs_list_table(records))
        return 0


def _import(args: argparse.Namespace) -> int:
    from cnnbench.cli._args import check_input_file, check_store_path, same_file
    from cnnbench.results.exchange import read_jsonl

    path = Path(args.file)
    check_input_file(path, "results import")
    db = store_path(args)
    if same_file(path, db):
        raise BadInput(f"results import {shown(args.file)} is the result store itself")
    flag = "--db" if args.db is not None else "the store ($CNNBENCH_DB)"
    check_store_path(db, flag, create=True)
    records = read_jsonl(path)  # all validated before anything is written
    with open_store(args) as store:
        new = store.save_many(records, skip_existing=True)
    err.print(f"imported {new} record(s), {len(records) - new} already present")
    return 0


def _show(args: argparse.Namespace, store: Any) -> int:
    from cnnbench.report.tables import runs_table, sweep_table

    rec = store.get(args.id)
    if args.json:
        emit_json(rec.to_json(), args.json)
        return 0
    console = tables_console(args)
    console.print(runs_table([rec], title=f"run {rec.id}"))
    table = sweep_table(rec)
    if table is not None:
        console.print(table)
    if rec.profile is not None:
        from cnnbench.report.profiles import layer_table, type_table

        console.print(type_table(rec))
        if args.layers:
            console.print(layer_table(rec))
    detail = rec.to_json(samples=False)
    for section in ("spec", "effective", "cost", "timing", "energy", "counters", "profile"):
        if section in detail:
            text = escape(json.dumps(detail[section], sort_keys=True))
            console.print(f"[bold]{section}[/bold]: {text}")
    for w in rec.warnings:
        console.print(f"[yellow]warning[/yellow]: {w}")
    return 0


def _export(args: argparse.Namespace, store: Any, filters: dict[str, str | None]) -> int:
    from cnnbench.report.csv_export import write_csv
    from cnnbench.results.exchange import write_jsonl

    records = store.query(**filters, samples=args.format == "jsonl")
    write = write_jsonl if args.format == "jsonl" else write_csv
    if args.output in (None, "-"):
        n = write(records, sys.stdout)
    else:
        from cnnbench._fs import atomic_path

        try:  # all or nothing: the file appears only once every record is written
            with atomic_path(args.output) as tmp, open(tmp, "w", newline="") as fh:
                n = write(records, fh)
        except OSError as exc:
            raise BadInput(f"--output: cannot write {shown(args.output)}: {exc.strerror}") from None
    err.print(f"exported {n} record(s)")
    return 0
