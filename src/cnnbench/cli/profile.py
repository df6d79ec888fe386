"""``cnnbench profile MODEL... -e ENGINE... [--threads 1,2] [--by layer|type] [--plot F]``.

Each configuration is a run of mode ``profile`` (latency without a profiler, then the engine's
own profiler, in one worker), stored with its layers like any run; then a table per run and,
with ``--plot``, one stacked bar per run (time by layer type, overhead on top) per engine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
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
from cnnbench.spec import BUDGET_S, PROFILE_CALLS, THREADS, TIMEOUT_S, Budget


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("profile", parents=parents, help="per-layer time on each engine (stored)")
    s.add_argument("models", nargs="+", metavar="MODEL", type=text_arg)
    s.add_argument("-e", "--engine", action="append", type=text_arg, help="engine (repeatable)")
    s.add_argument(
        "--threads",
        type=text_arg,
        help=f"thread counts to profile, e.g. 1,2,4 (each {THREADS.short}; default: engine's)",
    )
    s.add_argument("--by", choices=("layer", "type"), default="type")
    s.add_argument(
        "--calls",
        type=int_in(PROFILE_CALLS),
        default=Budget.profile_calls,
        help=f"calls under the profiler ({PROFILE_CALLS.short}; default {Budget.profile_calls})",
    )
    s.add_argument(
        "--budget",
        type=float_in(BUDGET_S),
        default=1.0,
        help=f"seconds of unprofiled timing ({BUDGET_S.short}; default 1)",
    )
    s.add_argument(
        "--option", type=text_arg, action="append", metavar="KEY=VALUE", help="engine option"
    )
    s.add_argument("--input-shape", type=text_arg, help="per-sample input shape, e.g. 3x224x224")
    s.add_argument(
        "--timeout", type=float_in(TIMEOUT_S), help=f"seconds per configuration ({TIMEOUT_S.short})"
    )
    s.add_argument("--plot", type=text_arg, metavar="FILE", help="stacked bars (.png, .svg, .pdf)")
    s.add_argument(
        "--replay",
        action="store_true",
        help="time every distinct layer alone (one-layer sub-models, torch modules) instead of "
        "the engine's profiler; with --energy, energy per layer where a meter exists",
    )
    s.add_argument(
        "--energy",
        action="store_true",
        help="with --replay: an energy meter around each layer's window (RAPL, NVML)",
    )
    s.add_argument(
        "--resume", action="store_true", help="skip configurations already profiled here"
    )
    s.set_defaults(func=cmd_profile)


def _thread_counts(text: str | None) -> list[int | None]:
    from cnnbench.errors import BadInput

    if text is None:
        return [None]
    counts: list[int | None] = []
    for part in text.split(","):
        try:
            value = int(part)
        except ValueError:
            raise BadInput(f"--threads: {part!r} is not a thread count") from None
        counts.append(THREADS.check(value, "--threads"))
    return counts


def cmd_profile(args: argparse.Namespace) -> int:
    from cnnbench.cli._args import parse_options
    from cnnbench.cli._execution import execute_with_progress
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.report.profiles import layer_table, profile_json, type_table

    if args.energy and not args.replay:
        from cnnbench.errors import BadInput

        raise BadInput("--energy needs --replay (a profiler's layers are too short for a meter)")
    if args.plot:
        from cnnbench.report.profile_plot import check_plot_path

        check_plot_path(Path(args.plot))
    specs = []
    for threads in _thread_counts(args.threads):
        req = RunRequest(
            models=tuple(args.models),
            engines=tuple(args.engine or ["torch"]),
            modes=("replay" if args.replay else "profile",),
            probes=("energy",) if args.energy else (),
            threads=threads,
            options=parse_options(args.option or ()),
            input_shape=shape_arg(args.input_shape),
            budget=Budget(seconds=args.budget, profile_calls=args.calls),
            timeout_s=args.timeout,
        )
        specs += plan(req)
    result, store_path = execute_with_progress(
        args, specs, resume=args.resume, rounds=1, timeout_s=args.timeout
    )
    records = list(result.records)
    console = tables_console(args)
    for rec in records:
        if rec.status != "ok" or rec.profile is None:
            err.print(
                f"{rec.spec.model.name} on {rec.spec.target.engine}: {rec.status}: {rec.error}",
                markup=False,
                soft_wrap=True,
            )
            continue
        console.print(type_table(rec) if args.by == "type" else layer_table(rec))
        for note in (rec.profile.batchnorm, *rec.profile.notes):
            if note:
                console.print(f"note: {note}", markup=False)
    if result.skipped:
        err.print(f"{len(result.skipped)} configuration(s) skipped, already profiled")
    if args.plot:
        from cnnbench.report.profile_plot import save_type_bars

        ok = [r for r in records if r.status == "ok" and r.profile is not None]
        if ok:
            err.print(f"figure: {save_type_bars(ok, Path(args.plot))}")
        else:
            err.print("figure: nothing to plot (no profile succeeded)")
    if args.json:
        emit_json([profile_json(r) for r in records], args.json)
    err.print(f"stored in {store_path}")
    return 0 if result.all_ok else 1
