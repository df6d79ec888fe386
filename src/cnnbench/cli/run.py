"""``cnnbench run MODEL... -e ENGINE...``: measure, store, print a table (or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import (
    check_store,
    emit_json,
    environment,
    err,
    float_in,
    int_in,
    open_store,
    shape_arg,
    tables_console,
    text_arg,
)
from cnnbench.spec import (
    BATCH,
    BUDGET_S,
    INPUT_DIM,
    MIN_SAMPLES,
    PRECISIONS,
    ROUNDS,
    STREAMS,
    TARGET_REL_CI,
    THREADS,
    TIMEOUT_S,
    Budget,
)


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("run", parents=parents, help="measure models on engines")
    s.add_argument("models", nargs="+", type=text_arg, metavar="MODEL")
    s.add_argument(
        "-e", "--engine", type=text_arg, action="append", help="engine name, or 'all' (repeatable)"
    )
    s.add_argument("--batch", type=int_in(BATCH), default=1, help=f"batch size ({BATCH.short})")
    s.add_argument(
        "--max-batch",
        type=int_in(BATCH),
        default=256,
        help=f"largest batch of the throughput sweep ({BATCH.short}; default 256)",
    )
    s.add_argument("--threads", type=int_in(THREADS), help=f"intra-op threads ({THREADS.short})")
    s.add_argument("--cores", type=text_arg, help="CPU affinity of the worker, e.g. 0,1 or 0-3")
    s.add_argument("--isa", type=text_arg, help="cap the instruction set (avx2, avx512, ...)")
    s.add_argument(
        "--isa-strict",
        action="store_true",
        help="with --isa: refuse any node above the cap (default: only compute kernels; "
        "others are named in effective.isa_exceptions with a warning)",
    )
    s.add_argument("--precision", default="fp32", choices=list(PRECISIONS))
    s.add_argument("--device", type=text_arg, default="cpu")
    s.add_argument(
        "--streams",
        type=int_in(STREAMS),
        default=1,
        help=f"requests in flight ({STREAMS.short}; default 1)",
    )
    s.add_argument(
        "--option", type=text_arg, action="append", metavar="KEY=VALUE", help="engine option"
    )
    s.add_argument(
        "--mode",
        type=text_arg,
        action="append",
        help="latency, throughput or profile (latency + per-layer times; repeatable)",
    )
    s.add_argument(
        "--input-shape",
        type=text_arg,
        help=f"per-sample input shape, e.g. 3x227x227 (each dimension {INPUT_DIM.short})",
    )
    s.add_argument(
        "--budget",
        type=float_in(BUDGET_S),
        default=3.0,
        help=f"seconds per measurement ({BUDGET_S.short}; default 3)",
    )
    s.add_argument(
        "--min-samples",
        type=int_in(MIN_SAMPLES),
        default=10,
        help=f"timed calls before a measurement may stop ({MIN_SAMPLES.short}; default 10)",
    )
    s.add_argument(
        "--ci",
        type=float_in(TARGET_REL_CI),
        default=0.01,
        help=f"target CI95 half-width, relative ({TARGET_REL_CI.short}; default 0.01)",
    )
    s.add_argument(
        "--timeout",
        type=float_in(TIMEOUT_S),
        help=f"seconds per configuration ({TIMEOUT_S.short}; default from the budget)",
    )
    s.add_argument(
        "--rounds",
        type=int_in(ROUNDS),
        help=(
            f"interleaved rounds per comparison ({ROUNDS.short}; "
            "default 3 with several engines, else 1)"
        ),
    )
    s.add_argument(
        "--probe",
        type=text_arg,
        action="append",
        metavar="NAME",
        help="probe around the timed window or the worker (repeatable; module:Class: your own)",
    )
    s.add_argument(
        "--resume",
        action="store_true",
        help="skip configurations already measured (status ok) on this machine",
    )
    s.add_argument(
        "--executor", type=text_arg, default="local", help="where workers run (default: local)"
    )
    s.add_argument("-v", "--verbose", action="store_true", help="print the throughput sweeps")
    s.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cnnbench.cli._args import parse_cores, parse_options
    from cnnbench.execute.executors import executor_names, get_executor
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
        cores=parse_cores(args.cores) if args.cores is not None else None,
        isa=args.isa,
        isa_strict=args.isa_strict,
        precision=args.precision,
        device=args.device,
        streams=args.streams,
        options=parse_options(args.option or ()),
        input_shape=shape_arg(args.input_shape),
        budget=budget,
        probes=tuple(args.probe or ()),
        resolve_timeout_s=args.timeout,
        rounds=args.rounds,
        timeout_s=args.timeout,
    )
    if args.executor not in executor_names():
        get_executor(args.executor)  # unknown: a BadInput listing the known ones
    check_store(args)  # an unusable store is refused before a model is resolved
    specs = plan(req)
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
            rounds=req.rounds,
            timeout_s=req.timeout_s,
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
