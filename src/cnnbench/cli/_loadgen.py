"""``cnnbench run --scenario ...``: the LoadGen flags and the settings they make."""

from __future__ import annotations

import argparse
from typing import Any

from cnnbench.cli._common import float_in, int_in
from cnnbench.errors import BadInput
from cnnbench.scenario import (
    DEFAULT_MIN_DURATION_S,
    DEFAULT_SAMPLES_PER_QUERY,
    LATENCY_BOUND_MS,
    MIN_DURATION_S,
    MIN_QUERIES,
    SAMPLES_PER_QUERY,
    SCENARIOS,
    TARGET_QPS,
    LoadgenSettings,
)

# flag -> attribute: the flags that only make sense with --scenario
_WITH_SCENARIO = {
    "--target-qps": "target_qps",
    "--latency-bound-ms": "latency_bound_ms",
    "--min-duration": "min_duration",
    "--min-queries": "min_queries",
    "--samples-per-query": "samples_per_query",
    "--find-peak": "find_peak",
}


def add_loadgen_arguments(s: Any) -> None:
    g = s.add_argument_group(
        "MLPerf LoadGen scenarios (the loadgen extra)",
        "LoadGen issues the queries and gives its VALID/INVALID verdict; the defaults are "
        "short for a small machine (seconds, not LoadGen's 10 minutes)",
    )
    g.add_argument("--scenario", choices=list(SCENARIOS), help="run this LoadGen scenario")
    g.add_argument(
        "--target-qps",
        type=float_in(TARGET_QPS),
        help="Server: arrival rate (queries/s); Offline: expected samples/s "
        "(default: from a short calibration, recorded as such)",
    )
    g.add_argument(
        "--latency-bound-ms",
        type=float_in(LATENCY_BOUND_MS),
        help="Server: latency bound at p99 (default: 10 x the calibrated median)",
    )
    g.add_argument(
        "--min-duration",
        type=float_in(MIN_DURATION_S),
        metavar="S",
        help=f"LoadGen's minimum duration in seconds (default {DEFAULT_MIN_DURATION_S:g})",
    )
    g.add_argument(
        "--min-queries",
        type=int_in(MIN_QUERIES),
        metavar="N",
        help="LoadGen's minimum query count (default: what early stopping needs, "
        "64 for p90 scenarios, 662 for p99; Offline 1)",
    )
    g.add_argument(
        "--samples-per-query",
        type=int_in(SAMPLES_PER_QUERY),
        help=f"MultiStream: samples per query (default {DEFAULT_SAMPLES_PER_QUERY})",
    )
    g.add_argument(
        "--find-peak",
        action="store_true",
        help="Server: LoadGen's FindPeakPerformance (the highest valid QPS; many runs)",
    )


def loadgen_settings(args: argparse.Namespace) -> LoadgenSettings | None:
    """The settings of ``--scenario`` and its flags; a flag without it is bad input."""
    if args.scenario is None:
        given = [
            flag
            for flag, attr in _WITH_SCENARIO.items()
            if getattr(args, attr) not in (None, False)
        ]
        if given:
            raise BadInput(f"{', '.join(given)} need(s) --scenario")
        return None
    try:
        return LoadgenSettings(
            scenario=args.scenario,
            target_qps=args.target_qps,
            latency_bound_ms=args.latency_bound_ms,
            samples_per_query=args.samples_per_query or DEFAULT_SAMPLES_PER_QUERY,
            find_peak=args.find_peak,
            min_duration_s=args.min_duration or DEFAULT_MIN_DURATION_S,
            min_queries=args.min_queries,
        )
    except BadInput as exc:
        raise BadInput(f"--scenario {args.scenario}: {exc}") from None
