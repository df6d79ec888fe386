"""``cnnbench predict fit|eval|show``: latency or energy predictors fitted on this machine's runs.

* ``fit -e ENGINE [--target latency|energy] [--collect [--small] [--counted N]]
  [--from-study NAME]``: fit the three predictors on the store's profiles (``--collect``
  first measures what is missing, with resume), save them with their training set's
  fingerprint;
* ``eval -e ENGINE [--by network|family|both]``: leave-one-network-out and
  leave-one-family-out cross-validation, per-layer against MACs-only and SyNERGY's form;
* ``show MODEL -e ENGINE [--force]``: one prediction (a registered model or an ONNX file), its
  per-kind contributions, uncertainty and provenance.

``--option KEY=VALUE`` (each command): the engine options of the runs, as ``cnnbench run`` takes
them. A fit reads only runs with exactly these options (none by default), ``--collect`` measures
with them, and the fit is saved and found under them (``latency-torch+malloc=keep-MACHINE``).

``--target energy`` fits energy per inference (mJ) on the runs a meter measured (RAPL, NVML;
:mod:`cnnbench.predict.energy`); with none, one line says why and the command exits 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import emit_json, err, int_in, out, text_arg
from cnnbench.spec import THREADS, IntRange

COUNTED = IntRange(0, 5)
REPEATS = IntRange(1, 5)  # profiles per network and probe (each round a full pass, minutes)


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("predict", help="fit, evaluate and use latency and energy predictors")
    ps = s.add_subparsers(dest="predict_command", required=True, parser_class=type(s))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-e", "--engine", required=True, type=text_arg)
    common.add_argument(
        "--threads", type=int_in(THREADS), help="the thread setting of the runs (default: engine's)"
    )
    common.add_argument(
        "--target",
        choices=("latency", "energy"),
        default="latency",
        help="latency (ms), or energy per inference (mJ) where a meter measured it",
    )
    common.add_argument(
        "--option",
        type=text_arg,
        action="append",
        metavar="KEY=VALUE",
        help="engine option of the runs (a fit reads only runs with exactly these options)",
    )
    common.add_argument(
        "--statistic",
        choices=("median", "p10", "min"),
        default="median",
        help="latency: the end-to-end figure to predict (p10/min: least inflated by other load)",
    )
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--from-study", type=text_arg, metavar="NAME", help="only a study's runs")

    f = ps.add_parser("fit", parents=[*parents, common, data], help="fit and save the predictors")
    f.add_argument("--collect", action="store_true", help="measure what is missing first")
    f.add_argument("--small", action="store_true", help="with --collect: a seconds-long set")
    f.add_argument(
        "--counted",
        type=int_in(COUNTED),
        default=3,
        help="with --collect: networks with cachegrind counters for SyNERGY (minutes each)",
    )
    f.add_argument(
        "--repeats",
        type=int_in(REPEATS),
        default=1,
        help="with --collect: profiles per network, one full pass each (medians are fitted)",
    )
    f.set_defaults(func=cmd_fit)

    e = ps.add_parser("eval", parents=[*parents, common, data], help="cross-validation table")
    e.add_argument("--by", choices=("network", "family", "both"), default="both")
    e.add_argument("--networks", action="store_true", help="one row per held-out network too")
    e.add_argument("--plot", type=text_arg, metavar="FILE", help="predicted against measured")
    e.set_defaults(func=cmd_eval)

    w = ps.add_parser("show", parents=[*parents, common], help="predict one model")
    w.add_argument("model", metavar="MODEL", type=text_arg, help="a registered model or .onnx")
    w.add_argument("--force", action="store_true", help="predict with another machine's fit")
    w.set_defaults(func=cmd_show)


def _options(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """``--option`` pairs, checked against the engine's table, as fits key them."""
    from cnnbench.cli._args import parse_options
    from cnnbench.execute.plan import check_options
    from cnnbench.predict.saved import fit_options

    pairs = parse_options(args.option or ())
    if pairs:
        check_options([args.engine], pairs)
    return fit_options(pairs)


def _samples(
    args: argparse.Namespace, options: tuple[tuple[str, str], ...]
) -> tuple[list[Any], list[Any], str]:
    from cnnbench.cli._common import check_store, environment, open_store
    from cnnbench.errors import BadInput
    from cnnbench.predict.dataset import load_samples, quantity

    target = quantity(args.target)
    if target.energy and args.statistic != "median":
        raise BadInput(
            f"--statistic {args.statistic} is for latency: energy per inference is the meter's "
            "total over its window, divided by the calls"
        )
    if not check_store(args, missing_ok=True):
        raise BadInput("the store holds no runs; use --collect (or cnnbench profile) first")
    machine = str(environment().machine["id"])
    store = open_store(args, create=False)
    try:
        samples, records = load_samples(
            store,
            args.engine,
            machine,
            threads=args.threads,
            study=args.from_study,
            study_specs=_study_specs,
            statistic=args.statistic,
            target=target,
            options=options,
        )
    finally:
        store.close()
    if target.energy and not any(not s.probe for s in samples):
        from cnnbench.predict.energy import why_none

        raise BadInput(why_none(records, args.engine))
    return samples, records, machine


def _what(args: argparse.Namespace) -> str:
    """What the training set's networks are called in a refusal."""
    return "profiled network(s)" if args.target == "latency" else "network(s) with metered energy"


def cmd_fit(args: argparse.Namespace) -> int:
    from cnnbench.errors import BadInput
    from cnnbench.predict.fit import fit_all

    if args.repeats > 1 and not args.collect:
        raise BadInput("--repeats N goes with --collect (it says how often to measure)")
    options = _options(args)  # checked once, before anything is measured
    if args.collect:
        from cnnbench.predict.collect import collection_specs

        if args.from_study:
            raise BadInput("--collect measures the training set; it does not go with --from-study")
        if args.target == "energy":
            from cnnbench.predict.energy import meter_here

            if (meter := meter_here()).startswith("none"):
                raise BadInput(f"--collect --target energy needs an energy meter; here: {meter}")
        specs = collection_specs(
            args.engine, "small" if args.small else "full", counted=args.counted,
            threads=args.threads, target=args.target, options=options,
        )  # fmt: skip
        _collect(args, specs)
    samples, records, machine = _samples(args, options)
    if (n := sum(not s.probe for s in samples)) < 3:
        raise BadInput(
            f"{n} {_what(args)} for {args.engine} on this machine; "
            "3 or more are needed (use --collect)"
        )
    path, summary = fit_all(
        samples, records, args.engine, machine, args.threads, args.from_study,
        statistic=args.statistic, options=options,
    )  # fmt: skip
    if args.json:
        emit_json({"path": str(path), **summary}, args.json)
    else:
        from cnnbench.report.predict import fit_lines

        for line in fit_lines(summary):
            out.print(line, markup=False, soft_wrap=True)
    err.print(f"saved {path}")
    return 0


def _collect(args: argparse.Namespace, specs: list[Any]) -> None:
    """Measure what the store misses of ``specs``, then further rounds of the timed ones until
    each has ``--repeats`` ok runs (a failure is reported, and tried again in the next round)."""
    from cnnbench.cli._common import environment, open_store
    from cnnbench.cli._execution import execute_with_progress
    from cnnbench.predict.collect import short_of

    machine = str(environment().machine["id"])
    todo, resume = specs, True
    for _ in range(args.repeats):
        result, _ = execute_with_progress(args, todo, resume=resume)
        for r in (r for r in result.records if r.status != "ok"):
            err.print(f"{r.spec.model.name}: {r.status}: {r.error}", markup=False, soft_wrap=True)
        store = open_store(args, create=False)
        try:
            todo, resume = short_of(specs, store, machine, args.repeats), False
        finally:
            store.close()
        if not todo:
            break
        err.print(f"round of {len(todo)} more profile(s), to {args.repeats} each")


def cmd_eval(args: argparse.Namespace) -> int:
    from cnnbench.errors import BadInput
    from cnnbench.predict.evaluate import cross_validate
    from cnnbench.report.predict import eval_json, eval_tables

    if args.plot:
        from pathlib import Path

        from cnnbench.report.profile_plot import check_plot_path

        check_plot_path(Path(args.plot))
    samples, _, _ = _samples(args, _options(args))
    if (n := sum(not s.probe for s in samples)) < 4:
        raise BadInput(f"{n} {_what(args)}; cross-validation needs 4 or more")
    kinds = ("network", "family") if args.by == "both" else (args.by,)
    evals = [cross_validate(samples, by) for by in kinds]  # type: ignore[arg-type]
    if args.json:
        emit_json(eval_json(args.engine, evals), args.json)
    else:
        for table in eval_tables(args.engine, evals, networks=args.networks):
            out.print(table)
    if args.plot:
        from pathlib import Path

        from cnnbench.report.predict_plot import save_scatter

        err.print(f"figure: {save_scatter(evals, Path(args.plot), args.engine)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from cnnbench.cli._common import environment
    from cnnbench.predict.fit import predict_one

    machine = str(environment().machine["id"])
    result = predict_one(
        args.model, args.engine, machine,
        force=args.force, target=args.target, options=_options(args),
    )  # fmt: skip
    if args.json:
        emit_json(result, args.json)
    else:
        from cnnbench.report.predict import show_lines

        for line in show_lines(result):
            out.print(line, markup=False, soft_wrap=True)
    return 0


def _study_specs(name: str) -> list[Any]:
    """Every spec a study plans on this machine, its full and its quick variant (what
    ``--from-study NAME`` selects records by)."""
    from cnnbench.studies.plan import load_study, plan_study

    specs: list[Any] = []
    for quick in (False, True):
        specs += plan_study(load_study(name, quick=quick)).specs
    return specs
