"""``cnnbench run MODEL... -e ENGINE...``: measure, store, print a table (or JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import (
    check_store,
    emit_json,
    err,
    float_in,
    int_in,
    shape_arg,
    tables_console,
    text_arg,
)
from cnnbench.cli._loadgen import add_loadgen_arguments, loadgen_settings
from cnnbench.errors import BadInput
from cnnbench.spec import (
    BATCH,
    BUDGET_S,
    IDLE_S_RANGE,
    INPUT_DIM,
    MIN_SAMPLES,
    PRECISIONS,
    ROUNDS,
    STREAMS,
    TARGET_REL_CI,
    TDP_W_RANGE,
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
        help="latency, throughput, profile (latency, then the engine's per-layer profile), "
        "replay (latency, then every distinct layer timed alone); repeatable",
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
    add_loadgen_arguments(s)
    s.add_argument(
        "--energy",
        action="store_true",
        help="measure energy over the timed window (RAPL on CPUs, NVML on CUDA; idle subtracted)"
        " and sample the clocks; says why when this machine has no meter",
    )
    s.add_argument(
        "--idle-s",
        type=float_in(IDLE_S_RANGE),
        help=f"seconds of idle baseline before the run ({IDLE_S_RANGE.short}; default 2)",
    )
    s.add_argument(
        "--tdp-w",
        type=float_in(TDP_W_RANGE),
        help="with --energy and no meter: estimate energy as TDP x time, labelled 'estimated'",
    )
    s.add_argument(
        "--counters",
        choices=["perf", "cachegrind", "auto"],
        help="hardware counters: perf stat on the timed window, cachegrind (simulated, slow; "
        "small networks), or auto (perf where the PMU is exposed, else cachegrind)",
    )
    s.add_argument(
        "--resume",
        action="store_true",
        help="skip configurations already measured (status ok) on this machine",
    )
    s.add_argument(
        "--executor", type=text_arg, default="local", help="where workers run: local or ray"
    )
    s.add_argument(
        "--address",
        type=text_arg,
        help="with --executor ray: auto or HOST:PORT of the Ray head (default: a local Ray)",
    )
    s.add_argument(
        "--node",
        type=text_arg,
        action="append",
        metavar="KEY=VALUE",
        help="where to measure on a fleet: each=true, cpu=EPYC, gpu=true, machine=ID, host=H, "
        "isa=F, resource=R, label.K=V (repeatable; docs/fleet.md)",
    )
    s.add_argument("-v", "--verbose", action="store_true", help="print the throughput sweeps")
    s.set_defaults(func=cmd_run)


def _meter_probes(args: argparse.Namespace) -> tuple[str, ...]:
    """Probe names for --energy and --counters (their settings go to workers by environment)."""
    import os

    from cnnbench.cli._args import counters_probe
    from cnnbench.measure.probes.energy import IDLE_ENV, TDP_ENV

    if (args.idle_s is not None or args.tdp_w is not None) and not args.energy:
        raise BadInput("--idle-s and --tdp-w need --energy")
    if args.idle_s is not None:
        os.environ[IDLE_ENV] = str(args.idle_s)
    if args.tdp_w is not None:
        os.environ[TDP_ENV] = str(args.tdp_w)
    probes: tuple[str, ...] = ("energy", "clock") if args.energy else ()
    if args.counters:
        probes += (counters_probe(args.counters),)
    return probes


def cmd_run(args: argparse.Namespace) -> int:
    from cnnbench.cli._args import parse_cores, parse_node, parse_options
    from cnnbench.cli._execution import check_executor, execute_with_progress
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.report.loadgen import loadgen_table
    from cnnbench.report.tables import meter_lines, runs_table, sweep_table

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
        probes=(*(args.probe or ()), *_meter_probes(args)),
        resolve_timeout_s=args.timeout,
        rounds=args.rounds,
        timeout_s=args.timeout,
        loadgen=loadgen_settings(args),
        node=parse_node(args.node or ()),
    )
    check_executor(args.executor, address=args.address)
    check_store(args)  # an unusable store is refused before a model is resolved
    specs = plan(req)
    result, store_path = execute_with_progress(
        args,
        specs,
        executor_name=args.executor,
        executor_options={"address": args.address},
        resume=args.resume,
        rounds=req.rounds,
        timeout_s=req.timeout_s,
    )
    records = list(result.records)
    console = tables_console(args)
    if records:
        console.print(runs_table(records, title=f"cnnbench run -> {store_path}"))
    if any(r.loadgen is not None for r in records):
        console.print(loadgen_table(records))
    for rec in records:
        table = sweep_table(rec) if rec.spec.mode == "throughput" else None
        if table is not None and args.verbose:
            console.print(table)
    for line in meter_lines(records):
        err.print(line, soft_wrap=True, markup=False, highlight=False)
    if result.skipped:
        err.print(f"{len(result.skipped)} configuration(s) skipped, already measured")
    if args.json:
        emit_json([r.to_json() for r in records], args.json)
    return 0 if result.all_ok else 1
