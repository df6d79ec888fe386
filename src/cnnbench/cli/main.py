"""The command line: ``main`` and the parser; each subcommand lives in its own module.

Exit codes: 0 all measured, 1 some configurations failed (recorded), 2 bad input (one line on
stderr, nothing written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cnnbench import __version__
from cnnbench.cli import engines, info, models, results, run
from cnnbench.cli._common import Parser, err
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
    db.add_argument("--db", help="result store (default ./cnnbench.db or $CNNBENCH_DB)")
    js = Parser(add_help=False)
    js.add_argument("--json", metavar="FILE", help="write machine-readable output ('-': stdout)")
    info.add_parser(sub, [db, js])
    engines.add_parser(sub, [js])
    models.add_parser(sub, [js])
    run.add_parser(sub, [db, js])
    results.add_parser(sub, db, js)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except BadInput as exc:
        err.print(f"cnnbench: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except CnnbenchError as exc:  # a measurement of the tool itself failed (recorded nowhere)
        err.print(f"cnnbench: failed: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err.print("cnnbench: interrupted", markup=False)
        return 130


if __name__ == "__main__":
    sys.exit(main())
