"""``cnnbench models [--family F] [--detail MODEL]``: the zoo, or one model's layers."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import emit_json, out, shape_arg, text_arg
from cnnbench.spec import INPUT_DIM


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("models", parents=parents, help="the model zoo, or one model's layers")
    s.add_argument("--family", type=text_arg)
    s.add_argument(
        "--detail", type=text_arg, metavar="MODEL", help="per-layer cost table of one model"
    )
    s.add_argument(
        "--input-shape",
        type=text_arg,
        help=f"per-sample input shape, e.g. 3x227x227 (each dimension {INPUT_DIM.short})",
    )
    s.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from cnnbench.errors import BadInput
    from cnnbench.execute.costing import summaries
    from cnnbench.graph.summary import summary_row
    from cnnbench.models import list_models
    from cnnbench.report.listings import models_table

    if args.detail:
        return _model_detail(args)
    if args.input_shape is not None:
        raise BadInput("--input-shape applies to --detail MODEL only")
    infos = list_models(args.family)
    rows = [summary_row(i, s) for i, s in zip(infos, summaries(infos), strict=True)]
    if args.json:
        emit_json(rows, args.json)
    else:
        out.print(models_table(rows))
    return 0


def _model_detail(args: argparse.Namespace) -> int:
    from cnnbench.execute.costing import detail_cost
    from cnnbench.report.listings import detail_json, layer_tables

    shape = shape_arg(args.input_shape)
    cost = detail_cost(args.detail, shape)  # exported in a worker
    if args.json:
        emit_json(detail_json(cost), args.json)
        return 0
    for table in layer_tables(cost):
        out.print(table)
    return 0
