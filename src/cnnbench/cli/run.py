"""``cnnbench run MODEL... -e ENGINE...``: measure, store, print a table (or JSON)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cnnbench.cli._common import (
    emit_json,
    environment,
    err,
    open_store,
    positive_float,
    positive_int,
    shape_arg,
    tables_console,
)
from cnnbench.spec import PRECISIONS, Budget


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("run", parents=parents, help="measure models on engines")
    s.add_argument("models", nargs="+", metavar="MODEL")
    s.add_argument("-e", "--engine", action="append", help="engine name, or 'all' (repeatable)")
    s.add_argument("--batch", type=positive_int, default=1)
    s.add_argument("--max-batch", type=positive_int, default=256, help="throughput sweep limit")
    s.add_argument("--threads", type=positive_int)
    s.add_argument("--cores", help="CPU affinity of the worker, e.g. 0,1 or 0-3")
    s.add_argument("--isa", help="cap the instruction set (avx2, avx512, ...)")
    s.add_argument("--precision", default="fp32", choices=list(PRECISIONS))
    s.add_argument("--device", default="cpu")
    s.add_argument("--streams", type=positive_int, default=1)
    s.add_argument("--option", action="append", metavar="KEY=VALUE", help="engine option")
    s.add_argument("--mode", action="append", help="latency, throughput or both (repeatable)")
    s.add_argument("--input-shape", help="per-sample input shape, e.g. 3x227x227")
    s.add_argument("--budget", type=positive_float, default=3.0, help="seconds per measurement")
    s.add_argument("--min-samples", type=positive_int, default=10)
    s.add_argument("--ci", type=positive_float, default=0.01, help="target CI95 half-width")
    s.add_argument("--timeout", type=positive_float, help="seconds per configuration")
    s.add_argument(
        "--rounds",
        type=positive_int,
        help="interleaved rounds per comparison (default 3 with several engines, else 1)",
    )
    s.add_argument(
        "--probe",
        action="append",
        metavar="NAME",
        help="probe around the timed window or the worker (repeatable; module:Class: your own)",
    )
    s.add_argument(
        "--resume",
        action="store_true",
        help="skip configurations already measured (status ok) on this machine",
    )
    s.add_argument("--executor", default="local", help="where workers run (default: local)")
    s.add_argument("-v", "--verbose", action="store_true", help="print the throughput sweeps")
    s.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cnnbench.cli._args import check_writable, parse_cores, parse_options
    from cnnbench.execute.executors import get_executor
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.execute.run import Skipped, execute
    from cnnbench.report.tables import runs_table, sweep_table

    budget = Budget(seconds=args.budget, min_samples=args.min_samples, target_rel_ci=args.ci)
    req = RunRequest(
        models=tuple(args.models),
        engines=tuple(args.engine or ["torch"]),
        modes=tuple(args.mode or ["latency"]),
        batch=args.batch,
        max_batch=args.max_batch,
        threads=args.threads,
        cores=parse_cores(args.cores) if args.cores else None,
        isa=args.isa,
        precision=args.precision,
        device=args.device,
        streams=args.streams,
        options=parse_options(args.option or ()),
        input_shape=shape_arg(args.input_shape),
        budget=budget,
        probes=tuple(args.probe or ()),
        resolve_timeout_s=args.timeout,
    )
    specs = plan(req)
    if args.json:
        check_writable(Path(args.json))
    executor = get_executor(args.executor)
    store = open_store(args)
    env = environment()
    with (
        executor,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("measuring", total=len(specs))

        def done(rec: Any) -> None:
            progress.update(task, advance=1)

        def skipped(skip: Skipped) -> None:
            progress.update(task, advance=1)
            s = skip.spec
            err.print(
                f"{s.model.name} on {s.target.engine} ({s.mode}): "
                f"skipped (already measured: {skip.run_id})",
                soft_wrap=True,
            )

        def step(message: str) -> None:
            progress.update(task, description=message)

        result = execute(
            specs,
            store,
            env,
            executor=executor,
            resume=args.resume,
            rounds=args.rounds,
            timeout_s=args.timeout,
            on_done=done,
            on_skip=skipped,
            progress=step,
        )
    store.close()
    records = list(result.records)
    console = tables_console(args)
    if records:
        console.print(runs_table(records, title=f"cnnbench run -> {store.path}"))
    for rec in records:
        table = sweep_table(rec) if rec.spec.mode == "throughput" else None
        if table is not None and args.verbose:
            console.print(table)
    if result.skipped:
        err.print(f"{len(result.skipped)} configuration(s) skipped, already measured")
    if args.json:
        emit_json([r.to_json() for r in records], args.json)
    return 0 if result.all_ok else 1
