"""The command line: one small function per subcommand; the logic lives in the package.

Exit codes: 0 all measured, 1 some configurations failed (recorded), 2 bad input (one line on
stderr, nothing written).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from cnnbench import __version__
from cnnbench.errors import BadInput, CnnbenchError
from cnnbench.spec import Budget

out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _emit_json(obj: Any, dest: str) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True) + "\n"
    if dest == "-":
        sys.stdout.write(text)
        return
    try:
        Path(dest).write_text(text)
    except OSError as exc:
        raise BadInput(f"cannot write {dest}: {exc.strerror}") from None


def _store(args: argparse.Namespace, create: bool = True) -> Any:
    from cnnbench.store.sqlite import Store

    return Store(args.db, create=create)


def _environment() -> Any:
    from cnnbench.measure.records import Environment
    from cnnbench.system.fingerprint import collect, software_versions

    return Environment(collect(), software_versions())


# -- subcommands -------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from cnnbench.measure.probes.status import all_probes
    from cnnbench.report.listings import machine_tables

    env = _environment()
    m = env.machine
    probes = all_probes()
    peaks, notes = _peaks(args, env)
    if args.json:
        _emit_json(
            {
                "machine": m,
                "software": env.software,
                "probes": [p.__dict__ for p in probes],
                "peaks": peaks,
                "peak_notes": notes,
            },
            args.json,
        )
        return 0
    for table in machine_tables(m, env.software, probes, peaks, notes):
        out.print(table)
    if not peaks:
        out.print("peaks: not measured on this machine yet (cnnbench info --peaks)")
    return 0


def _peaks(args: argparse.Namespace, env: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Cached peaks of this machine; measured first (in a worker) with ``--peaks``."""
    from cnnbench.system.peaks import measure_and_store

    if not args.peaks:
        try:
            with _store(args, create=False) as store:
                return store.peaks(env.machine["id"]), []
        except BadInput:  # no store yet, or not readable: nothing cached
            return [], []
    with _store(args) as store:
        err.print("measuring peaks (matrix products, large copy)...")
        return measure_and_store(store, env.machine)


def cmd_engines(args: argparse.Namespace) -> int:
    from cnnbench.engines.base import iter_engines
    from cnnbench.report.listings import engines_table

    infos = [cls.info() for cls in iter_engines()]
    if args.json:
        _emit_json([i.to_dict() for i in infos], args.json)
        return 0
    out.print(engines_table(infos))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from cnnbench.graph.summary import summary_row
    from cnnbench.models import get_model_info, list_models
    from cnnbench.report.listings import models_table

    if args.detail:
        return _model_detail(args, get_model_info(args.detail, _shape(args.input_shape)))
    rows = [summary_row(i) for i in list_models(args.family)]
    if args.json:
        _emit_json(rows, args.json)
    else:
        out.print(models_table(rows))
    return 0


def _shape(text: str | None) -> tuple[int, ...] | None:
    from cnnbench.execute.plan import parse_shape

    return parse_shape(text) if text else None


def _model_detail(args: argparse.Namespace, info: Any) -> int:
    from cnnbench.graph import model_cost, network_cost
    from cnnbench.report.listings import detail_json, layer_tables

    if info.onnx_path is not None:
        cost = network_cost(info.onnx_path)
    else:
        cost = model_cost(info.name, info.input_shape, 1)
    if args.json:
        _emit_json(detail_json(cost), args.json)
        return 0
    for table in layer_tables(cost):
        out.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cnnbench.execute.plan import RunRequest, check_writable, execute, plan
    from cnnbench.report.tables import runs_table, sweep_table

    budget = Budget(seconds=args.budget, min_samples=args.min_samples, target_rel_ci=args.ci)
    req = RunRequest(
        models=tuple(args.models),
        engines=tuple(args.engine or ["torch"]),
        modes=tuple(args.mode or ["latency"]),
        batch=args.batch,
        max_batch=args.max_batch,
        threads=args.threads,
        cores=args.cores,
        isa=args.isa,
        precision=args.precision,
        device=args.device,
        streams=args.streams,
        options=tuple(args.option or ()),
        input_shape=args.input_shape,
        budget=budget,
    )
    specs = plan(req)
    if args.json:
        check_writable(Path(args.json))
    store = _store(args)
    env = _environment()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("measuring", total=len(specs))

        def done(rec: Any) -> None:
            progress.update(task, advance=1)

        def step(message: str) -> None:
            progress.update(task, description=message)

        records = execute(
            specs,
            store,
            env,
            rounds=args.rounds,
            timeout_s=args.timeout,
            on_done=done,
            progress=step,
        )
    store.close()
    out.print(runs_table(records, title=f"cnnbench run -> {store.path}"))
    for rec in records:
        table = sweep_table(rec) if rec.spec.mode == "throughput" else None
        if table is not None and args.verbose:
            out.print(table)
    if args.json:
        _emit_json([r.to_dict() for r in records], args.json)
    return 0 if all(r.status == "ok" for r in records) else 1


def cmd_results(args: argparse.Namespace) -> int:
    from cnnbench.report.tables import runs_list_table, runs_table, sweep_table
    from cnnbench.results.exchange import read_jsonl, write_jsonl

    if args.action == "import":
        records = read_jsonl(Path(args.file))  # all validated before anything is written
        with _store(args) as store:
            new = store.save_many(records, skip_existing=True)
        err.print(f"imported {new} record(s), {len(records) - new} already present")
        return 0
    with _store(args, create=False) as store:
        if args.action == "show":
            rec = store.get(args.id)
            if args.json:
                _emit_json(rec.to_dict(), args.json)
                return 0
            out.print(runs_table([rec], title=f"run {rec.id}"))
            table = sweep_table(rec)
            if table is not None:
                out.print(table)
            detail = rec.to_dict(samples=False)
            for section in ("spec", "effective", "cost", "timing", "energy", "counters"):
                out.print(f"[bold]{section}[/bold]: {json.dumps(detail[section], sort_keys=True)}")
            for w in rec.warnings:
                out.print(f"[yellow]warning[/yellow]: {w}")
            return 0
        filters = {"model": args.model, "engine": args.engine, "status": args.status}
        if args.action == "export":
            records = store.query(**filters, samples=True)
            if args.output in (None, "-"):
                n = write_jsonl(records, sys.stdout)
            else:
                try:
                    with open(args.output, "w") as fh:
                        n = write_jsonl(records, fh)
                except OSError as exc:
                    raise BadInput(f"cannot write {args.output}: {exc.strerror}") from None
            err.print(f"exported {n} record(s)")
            return 0
        records = store.query(**filters, limit=args.limit)
        if args.json:
            _emit_json([r.to_dict(samples=False) for r in records], args.json)
        else:
            out.print(runs_list_table(records))
        return 0


# -- parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cnnbench", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--version", action="version", version=f"cnnbench {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    db = _Parser(add_help=False)
    db.add_argument("--db", help="result store (default ./cnnbench.db or $CNNBENCH_DB)")
    js = _Parser(add_help=False)
    js.add_argument("--json", metavar="FILE", help="write machine-readable output ('-': stdout)")

    s = sub.add_parser("info", parents=[db, js], help="machine fingerprint and available probes")
    s.add_argument("--peaks", action="store_true", help="measure compute and memory peaks")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("engines", parents=[js], help="registered engines, installed or not")
    s.set_defaults(func=cmd_engines)
    s = sub.add_parser("models", parents=[js], help="the model zoo, or one model's layers")
    s.add_argument("--family")
    s.add_argument("--detail", metavar="MODEL", help="per-layer cost table of one model")
    s.add_argument("--input-shape", help="per-sample input shape, e.g. 3x227x227")
    s.set_defaults(func=cmd_models)

    s = sub.add_parser("run", parents=[db, js], help="measure models on engines")
    s.add_argument("models", nargs="+", metavar="MODEL")
    s.add_argument("-e", "--engine", action="append", help="engine name, or 'all' (repeatable)")
    s.add_argument("--batch", type=_positive_int, default=1)
    s.add_argument("--max-batch", type=_positive_int, default=256, help="throughput sweep limit")
    s.add_argument("--threads", type=_positive_int)
    s.add_argument("--cores", help="CPU affinity of the worker, e.g. 0,1 or 0-3")
    s.add_argument("--isa", help="cap the instruction set (avx2, avx512, ...)")
    s.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16", "int8"])
    s.add_argument("--device", default="cpu")
    s.add_argument("--streams", type=_positive_int, default=1)
    s.add_argument("--option", action="append", metavar="KEY=VALUE", help="engine option")
    s.add_argument("--mode", action="append", help="latency, throughput or both (repeatable)")
    s.add_argument("--input-shape", help="per-sample input shape, e.g. 3x227x227")
    s.add_argument("--budget", type=_positive_float, default=3.0, help="seconds per measurement")
    s.add_argument("--min-samples", type=_positive_int, default=10)
    s.add_argument("--ci", type=_positive_float, default=0.01, help="target CI95 half-width")
    s.add_argument("--timeout", type=_positive_float, help="seconds per configuration")
    s.add_argument(
        "--rounds",
        type=_positive_int,
        help="interleaved rounds per comparison (default 3 with several engines, else 1)",
    )
    s.add_argument("-v", "--verbose", action="store_true", help="print the throughput sweeps")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("results", help="list, show, export or import stored results")
    rs = s.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for name in ("list", "export"):
        r = rs.add_parser(name, parents=[db] + ([js] if name == "list" else []))
        r.add_argument("--model")
        r.add_argument("--engine")
        r.add_argument("--status")
        if name == "list":
            r.add_argument("--limit", type=_positive_int, default=50)
        else:
            r.add_argument("-o", "--output", help="JSON lines file (default stdout)")
        r.set_defaults(func=cmd_results)
    r = rs.add_parser("show", parents=[db, js])
    r.add_argument("id")
    r.set_defaults(func=cmd_results)
    r = rs.add_parser("import", parents=[db])
    r.add_argument("file")
    r.set_defaults(func=cmd_results)
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
