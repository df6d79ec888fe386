"""``cnnbench results compare A B``: B against A per configuration, with a bootstrap CI95."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cnnbench.cli._common import emit_json, err, open_store, store_path, tables_console, text_arg


def add_compare(rs: Any, db: argparse.ArgumentParser, js: argparse.ArgumentParser) -> None:
    r = rs.add_parser(
        "compare",
        parents=[db, js],
        help="B against A: ratio of medians per configuration with a bootstrap CI95",
        description=(
            "A and B are each a store or export file, a run id, an engine name, or a filter "
            "such as engine=openvino,threads=2 over the store. Shows the speedup of B over A "
            "(A's median per-image time / B's) per configuration with a seeded bootstrap CI95, "
            "a verdict, and the geometric mean; between two files of one machine, significant "
            "slowdowns of 5 %% or more are flagged as regressions."
        ),
    )
    r.add_argument("a", type=text_arg, metavar="A", help="the reference")
    r.add_argument("b", type=text_arg, metavar="B", help="compared against A")
    r.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    r.add_argument("--html", type=text_arg, metavar="FILE", help="also write a report of it")
    r.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from cnnbench.cli._args import check_output_path
    from cnnbench.report.sides import compare_sides, resolve

    if args.html is not None:
        from cnnbench.report.build import require_plotting

        check_output_path(Path(args.html), "--html")
        require_plotting()
    records = None
    needs_store = not (Path(args.a).is_file() and Path(args.b).is_file())
    if needs_store and store_path(args).exists():
        with open_store(args, create=False) as store:
            records = list(store.iter_all(samples=True))
    a = resolve(args.a, records)
    b = resolve(args.b, records)
    comparison = compare_sides(a, b, seed=args.seed)
    if args.json:
        from cnnbench.report.compare_tables import comparison_json

        emit_json(comparison_json(comparison), args.json)
    from cnnbench.report.compare_tables import comparison_table

    console = tables_console(args)
    console.print(comparison_table(comparison))
    for label in comparison.only_a:
        err.print(f"only in A: {label}", markup=False)
    for label in comparison.only_b:
        err.print(f"only in B: {label}", markup=False)
    if not comparison.pairs:
        err.print("no configuration was measured on both sides", markup=False)
    if comparison.regressions_checked:
        n = len(comparison.regressions)
        err.print(f"{n} regression(s) between the two stores of one machine", markup=False)
    if args.html is not None:
        from cnnbench.report.build import build_report, write_report
        from cnnbench.report.sections_compare import comparison_section

        both = list({r.id: r for r in (*a.records, *b.records)}.values())
        report = build_report(both, extra=[comparison_section(comparison)], store_sections=False)
        write_report(report, Path(args.html), None)
        err.print(f"report: {Path(args.html).resolve()}", markup=False)
    return 0
