"""``cnnbench report [--html FILE] [--study NAME] [--figures DIR] [--db PATH]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cnnbench.cli._common import err, open_store, out, shown, store_path, text_arg

DEFAULT_HTML = "report.html"


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        parents=parents,
        help="one self-contained HTML page of the store's results (figures, tables, warnings)",
    )
    p.add_argument(
        "--html",
        type=text_arg,
        default=DEFAULT_HTML,
        metavar="FILE",
        help=f"the page to write (default {DEFAULT_HTML})",
    )
    p.add_argument("--study", type=text_arg, metavar="NAME", help="report one study's results")
    p.add_argument(
        "--figures", type=text_arg, metavar="DIR", help="also save every figure as PNG and SVG here"
    )
    p.set_defaults(func=cmd_report)


def check_paths(args: argparse.Namespace) -> tuple[Path, Path | None]:
    from cnnbench.cli._args import check_output_path, same_file
    from cnnbench.errors import BadInput

    html = Path(args.html)
    check_output_path(html, "--html")
    if same_file(html, store_path(args)):
        raise BadInput(f"--html {shown(args.html)} is the result store; choose another file")
    figures = Path(args.figures) if args.figures is not None else None
    if figures is not None and figures.exists() and not figures.is_dir():
        raise BadInput(f"--figures: {shown(args.figures)} is a file, not a folder")
    return html, figures


def cmd_report(args: argparse.Namespace) -> int:
    from cnnbench.report.build import report_from_store, require_plotting, write_report
    from cnnbench.report.doc import study_report

    html, figures = check_paths(args)
    require_plotting()
    if args.study is not None:
        study_report(args.study)  # an unknown study is bad input before anything is read
    open_store(args, create=False).close()  # a missing or foreign store: one line, exit 2
    report = report_from_store(store_path(args), study=args.study, png=figures is not None)
    write_report(report, html, figures)
    n_fig = sum(len(s.figures) for s in report.sections)
    n_tab = sum(len(s.tables) for s in report.sections)
    size_kb = html.stat().st_size / 1024
    err.print(
        f"{len(report.sections)} sections, {n_fig} figures, {n_tab} tables, "
        f"{size_kb:.0f} KiB, built in {report.build_s or 0:.1f} s",
        markup=False,
    )
    if figures is not None:
        err.print(f"figures (PNG and SVG) in {figures.resolve()}", markup=False)
    out.print(f"report: {html.resolve()}", markup=False, soft_wrap=True)
    return 0
