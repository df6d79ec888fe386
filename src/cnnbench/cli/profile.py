"""``cnnbench profile MODEL... -e ENGINE... [--threads 1,2] [--by layer|type] [--json F]``."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import emit_json, err, int_in, shape_arg, tables_console, text_arg
from cnnbench.spec import THREADS, Budget, IntRange

CALLS = IntRange(1, 1000)


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("profile", parents=parents, help="per-layer time on each engine")
    s.add_argument("models", nargs="+", metavar="MODEL", type=text_arg)
    s.add_argument("-e", "--engine", action="append", type=text_arg, help="engine (repeatable)")
    s.add_argument(
        "--threads",
        type=text_arg,
        help=f"thread counts to profile, e.g. 1,2,4 (each {THREADS.short}; default: engine's)",
    )
    s.add_argument("--by", choices=("layer", "type"), default="type")
    s.add_argument(
        "--calls", type=int_in(CALLS), default=10, help=f"profiled calls ({CALLS.short})"
    )
    s.add_argument("--input-shape", type=text_arg, help="per-sample input shape, e.g. 3x224x224")
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
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.execute.profiling import profile_specs
    from cnnbench.report.profiles import layer_table, type_table

    specs = []
    for threads in _thread_counts(args.threads):
        req = RunRequest(
            models=tuple(args.models),
            engines=tuple(args.engine or ["torch"]),
            threads=threads,
            input_shape=shape_arg(args.input_shape),
            budget=Budget(seconds=1.0),
        )
        specs += plan(req)
    profiles = profile_specs(specs, args.calls, progress=lambda m: err.print(m))
    console = tables_console(args)
    for p in profiles:
        if p["status"] != "ok":
            err.print(f"{p['model']} on {p['engine']}: {p['status']}: {p.get('error')}")
            continue
        console.print(type_table(p) if args.by == "type" else layer_table(p))
        for note in (p.get("overhead_note"), p.get("bn_note"), p.get("cost_note")):
            if note:
                console.print(f"note: {note}", markup=False)
    if args.json:
        emit_json(profiles, args.json)
    return 0 if all(p["status"] == "ok" for p in profiles) else 1
