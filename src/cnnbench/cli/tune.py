"""``cnnbench tune MODEL -e ENGINE [--objective latency|throughput] [--json F]``: parallel modes.

Streams x threads per stream x batch x requests in flight, searched by successive halving
(:mod:`cnnbench.studies.tuner`); prints the best configuration, the latency-throughput Pareto
front and a streams x threads heat map. Nothing is stored: each evaluation is a short worker.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from cnnbench.cli._common import (
    emit_json,
    err,
    float_in,
    int_in,
    shape_arg,
    tables_console,
    text_arg,
)
from cnnbench.spec import BATCH, BUDGET_S, THREADS, IntRange

FINALISTS = IntRange(1, 64)
ETA = IntRange(2, 16)


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("tune", parents=parents, help="find the best parallel mode of a model")
    s.add_argument("model", type=text_arg, metavar="MODEL")
    s.add_argument("-e", "--engine", type=text_arg, default="openvino", help="engine")
    s.add_argument("--objective", choices=("latency", "throughput"), default="throughput")
    s.add_argument(
        "--cores",
        type=int_in(THREADS),
        help="threads to share out, streams x threads per stream (default: the CPUs we may use)",
    )
    s.add_argument(
        "--max-batch",
        type=int_in(BATCH),
        default=8,
        help="largest batch (1, 2, 4, ... up to it; default 8)",
    )
    s.add_argument(
        "--budget",
        type=float_in(BUDGET_S),
        default=2.0,
        help="seconds of the finalists' measurements (default 2)",
    )
    s.add_argument(
        "--min-budget",
        type=float_in(BUDGET_S),
        default=0.25,
        help="seconds of the first, shortest round (default 0.25)",
    )
    s.add_argument("--eta", type=int_in(ETA), default=3, help="keep 1/eta per round (default 3)")
    s.add_argument(
        "--finalists",
        type=int_in(FINALISTS),
        default=3,
        help="points measured with the full budget (default 3)",
    )
    s.add_argument("--input-shape", type=text_arg, help="per-sample input shape, e.g. 3x32x32")
    s.add_argument(
        "--option", type=text_arg, action="append", metavar="KEY=VALUE", help="engine option"
    )
    s.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from cnnbench.cli._args import parse_options
    from cnnbench.errors import BadInput
    from cnnbench.execute.executors.local import LocalExecutor
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.studies.tuner import engine_measure, grid, tune

    if args.min_budget > args.budget:
        raise BadInput("--min-budget must not exceed --budget")
    options = parse_options(args.option or ())
    # Validated like a run (model, engine, options) before anything is measured.
    (spec,) = plan(
        RunRequest(
            models=(args.model,),
            engines=(args.engine,),
            options=options,
            input_shape=shape_arg(args.input_shape),
        )
    )
    cores = args.cores or len(os.sched_getaffinity(0))
    batches = [b for b in (1, 2, 4, 8, 16, 32, 64, 128, 256) if b <= args.max_batch]
    points = grid(spec.target.engine, cores, batches or [1])
    executor = LocalExecutor()
    with (
        executor,
        Progress(
            TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
        ) as bar,
    ):
        task = bar.add_task("tuning", total=None)
        measure = engine_measure(
            spec.model.name,
            spec.input_shape,
            spec.target.engine,
            options=spec.target.options,
            pool=executor.pool,
        )
        tuning = tune(
            points,
            measure,
            objective=args.objective,
            min_budget_s=args.min_budget,
            full_budget_s=args.budget,
            eta=args.eta,
            finalists=args.finalists,
            progress=lambda text: bar.update(task, description=text),
        )
    console = tables_console(args)
    _print(console, tuning, f"{spec.model.name} on {spec.target.engine}, {cores} cores")
    if args.json:
        out = tuning.to_json() | {
            "model": spec.model.name,
            "engine": spec.target.engine,
            "input_shape": list(spec.input_shape),
            "cores": cores,
        }
        emit_json(out, args.json)
    return 0 if tuning.best is not None else 1


def _value(e: Any, objective: str) -> str:
    if not e.ok:
        return e.status
    return f"{e.latency_ms:.3f} ms" if objective == "latency" else f"{e.images_per_s:.1f} img/s"


def _print(console: Any, tuning: Any, title: str) -> None:
    from rich.table import Table

    from cnnbench.studies.tuner import score

    best = tuning.best
    n_eval, n_grid = len(tuning.evaluated), tuning.grid_size
    head = f"{title}: {n_eval} evaluations of {n_grid} points, workers {tuning.measured_s:.1f} s"
    console.print(head, soft_wrap=True)
    if best is None:
        console.print("no configuration finished: every finalist failed", soft_wrap=True)
    else:
        p = best.point
        console.print(
            f"best ({tuning.objective}): streams {p.streams}, threads per stream "
            f"{p.threads_per_stream} ({p.threads} threads), batch {p.batch}, requests in flight "
            f"{p.requests}: {best.latency_ms:.3f} ms per request, {best.images_per_s:.1f} img/s "
            f"({best.budget_s:g} s budget)",
            soft_wrap=True,
        )
    front = Table(title="latency-throughput Pareto front (each point's latest measurement)")
    for col in ("streams", "thr/stream", "batch", "requests", "latency ms", "img/s", "budget s"):
        front.add_column(col, justify="right")
    for e in tuning.pareto:
        q = e.point
        front.add_row(
            str(q.streams),
            str(q.threads_per_stream),
            str(q.batch),
            str(q.requests),
            f"{e.latency_ms:.3f}",
            f"{e.images_per_s:.1f}",
            f"{e.budget_s:g}",
        )
    console.print(front)
    console.print(_heat_map(tuning, Table, score))


def _heat_map(tuning: Any, table_cls: Any, score: Any) -> Any:
    """Streams x threads per stream: the best objective over batch and requests, coloured by
    its share of the overall best (each point's latest measurement)."""
    cells: dict[tuple[int, int], Any] = {}
    for e in tuning.latest():
        key = (e.point.streams, e.point.threads_per_stream)
        if key not in cells or score(e, tuning.objective) > score(cells[key], tuning.objective):
            cells[key] = e
    streams = sorted({s for s, _ in cells})
    threads = sorted({t for _, t in cells})
    top = max((score(e, tuning.objective) for e in cells.values()), default=0.0)
    table = table_cls(title=f"heat map: best {tuning.objective} over batch and requests")
    table.add_column("streams \\ thr/stream", justify="right")
    for t in threads:
        table.add_column(str(t), justify="right")
    for s in streams:
        row = [str(s)]
        for t in threads:
            e = cells.get((s, t))
            if e is None:
                row.append("")
                continue
            share = _share(score(e, tuning.objective), top)
            style = "bold green" if share >= 0.95 else "yellow" if share >= 0.8 else "red"
            row.append(f"[{style}]{_value(e, tuning.objective)}[/]" if e.ok else e.status)
        table.add_row(*row)
    return table


def _share(value: float, top: float) -> float:
    """How close ``value`` is to ``top`` (1 = as good), for either sign of the score."""
    if value == float("-inf") or top in (0.0, float("-inf")):
        return 0.0
    return value / top if top > 0 else top / value
