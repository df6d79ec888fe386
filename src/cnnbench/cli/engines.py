"""``cnnbench engines``: registered engines, installed or not, versions, devices."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import emit_json, out


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("engines", parents=parents, help="registered engines, installed or not")
    s.set_defaults(func=cmd_engines)


def cmd_engines(args: argparse.Namespace) -> int:
    from cnnbench.engines.base import iter_engines
    from cnnbench.report.listings import engines_table

    infos = [cls.info() for cls in iter_engines()]
    if args.json:
        emit_json([i.to_dict() for i in infos], args.json)
        return 0
    out.print(engines_table(infos))
    return 0
