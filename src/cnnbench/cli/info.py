"""``cnnbench info [--peaks]``: the machine fingerprint, what can be measured here, peaks."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import check_store, emit_json, environment, err, open_store, out


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("info", parents=parents, help="machine fingerprint and available probes")
    s.add_argument("--peaks", action="store_true", help="measure compute and memory peaks")
    s.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    from cnnbench.measure.probes.status import all_probes
    from cnnbench.report.listings import machine_tables

    env = environment()
    m = env.machine
    probes = all_probes()
    peaks, notes = _peaks(args, env)
    if args.json:
        emit_json(
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
    from cnnbench.execute.peaks import measure_and_store

    if not args.peaks:
        if not check_store(args, missing_ok=True):  # no store yet: nothing cached
            return [], []
        with open_store(args, create=False) as store:
            return store.peaks(env.machine["id"]), []
    with open_store(args) as store:
        err.print("measuring peaks (matrix products, large copy)...")
        return measure_and_store(store, env.machine)
