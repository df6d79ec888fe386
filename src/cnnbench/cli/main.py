"""The command line: ``main`` and the parser; each subcommand lives in its own module.

Exit codes: 0 all measured, 1 some configurations failed (recorded), 2 bad input (one line on
stderr, nothing written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cnnbench import __version__
from cnnbench.cli import (
    engines,
    info,
    models,
    predict,
    profile,
    report,
    results,
    run,
    study,
    tune,
)
from cnnbench.cli._common import Parser, check_outputs, err, shown, text_arg
from cnnbench.errors import BadInput, CnnbenchError

DESCRIPTION = (
    "Measure, explain and predict the inference latency, throughput and energy of "
    "convolutional networks across engines and processor configurations."
)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="cnnbench", description=DESCRIPTION)
    p.add_argument("--version", action="version", version=f"cnnbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    db = Parser(add_help=False)
    db.add_argument(
        "--db", type=text_arg, help="result store (default ./cnnbench.db or $CNNBENCH_DB)"
    )
    js = Parser(add_help=False)
    js.add_argument(
        "--json",
        type=text_arg,
        metavar="FILE",
        help="write machine-readable output ('-': stdout, which then holds only JSON)",
    )
    info.add_parser(sub, [db, js])
    engines.add_parser(sub, [js])
    models.add_parser(sub, [js])
    run.add_parser(sub, [db, js])
    profile.add_parser(sub, [db, js])
    results.add_parser(sub, db, js)
    report.add_parser(sub, [db])
    study.add_parser(sub, [db, js])
    tune.add_parser(sub, [js])
    predict.add_parser(sub, [db, js])
    return p


def _error(message: str) -> None:
    """One line on stderr, whatever the message holds."""
    line = " ".join(message.split())
    err.print(f"cnnbench: error: {line}", markup=False, highlight=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        check_outputs(args)
        return int(args.func(args))
    except BadInput as exc:
        _error(str(exc))
        return 2
    except OSError as exc:  # last resort: a path the checks above did not foresee
        where = f"{shown(str(exc.filename))}: " if exc.filename is not None else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2
    except CnnbenchError as exc:  # a measurement of the tool itself failed (recorded nowhere)
        err.print(f"cnnbench: failed: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err.print("cnnbench: interrupted", markup=False)
        return 130


if __name__ == "__main__":
    sys.exit(main())
