"""The seeds' observations, computed from measured records (never asserted from the papers).

Each finder takes :class:`~cnnbench.studies.runner.StudyResult` s (a record, the study's target
name, the metrics it serves) and returns :class:`Finding` s that carry their numbers and the ids
of the records they come from. A finder with too little data returns nothing.

* :func:`more_flops_lower_latency` (seed 000, Obs. 1): per target, pairs of models where the one
  with more FLOPs has the lower median latency; ``significant`` when the CI95 of the two medians
  do not overlap.
* :func:`rank_inversions` (Obs. 2): two models whose order flips between two targets of the same
  engine and precision, each order outside both CIs.
* :func:`layer_time_vs_flops` (Insight 1): layer types whose share of time is at least twice
  their share of FLOPs (per profile).
* :func:`overhead_vs_threads` (Insight 2): the unattributed share of end-to-end time per thread
  count.
* :func:`flops_latency_correlation` (seed 003): Spearman rank correlation of FLOPs and latency
  across a pattern's depths and widths, per target.
* :func:`accelerated_speedup` (seed 003): torch median / accelerated engine median, per pattern
  (against depth and width) and per network.
* :func:`best_parallel_mode` (seed 002): the fastest streams x threads-per-stream point for the
  whole workload and its margin over the next one and over one stream on all threads.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from cnnbench.results.record import ResultRecord
from cnnbench.studies._finding import (
    SHARE_MIN,
    SHARE_RATIO,
    Finding,
    _apart,
    _flops,
    _group,
    _median,
    _ok,
    target_label,
)
from cnnbench.studies.findings_patterns import (
    accelerated_speedup,
    best_parallel_mode,
    flops_latency_correlation,
)
from cnnbench.studies.runner import StudyResult


def more_flops_lower_latency(results: Sequence[StudyResult]) -> list[Finding]:
    out = []
    recs = [r for r in _ok(results, "latency") if r.spec.batch == 1 and _flops(r)]
    for label, group in _group(recs, target_label).items():
        for a in group:
            for b in group:
                fa, fb = _flops(a), _flops(b)
                if a is b or fa is None or fb is None or fa <= fb or _median(a) >= _median(b):
                    continue
                margin = _median(b) / _median(a) - 1
                out.append(
                    Finding(
                        "more-flops-lower-latency",
                        f"on {label}, {a.spec.model.name} ({fa / 1e9:.3g} GFLOP) takes "
                        f"{_median(a):.3g} ms against {_median(b):.3g} ms for "
                        f"{b.spec.model.name} ({fb / 1e9:.3g} GFLOP): {1 + margin:.2f}x as fast "
                        "with more FLOPs",
                        {
                            "more_flops_model": a.spec.model.name,
                            "fewer_flops_model": b.spec.model.name,
                            "gflop": [fa / 1e9, fb / 1e9],
                            "median_ms": [_median(a), _median(b)],
                            "margin": margin,
                        },
                        (a.id, b.id),
                        _apart(a, b),
                        label,
                    )
                )
    return sorted(out, key=lambda f: (not f.significant, -f.numbers["margin"]))


def rank_inversions(results: Sequence[StudyResult]) -> list[Finding]:
    recs = [r for r in _ok(results, "latency") if r.spec.batch == 1]
    by_label = {
        label: {r.spec.model.name: r for r in group}
        for label, group in _group(recs, target_label).items()
    }
    labels = sorted(by_label)
    out = []
    for i, l1 in enumerate(labels):
        for l2 in labels[i + 1 :]:
            t1, t2 = l1.split(" ")[1:3], l2.split(" ")[1:3]
            if t1 != t2:  # same engine and precision: the processor differs
                continue
            common = sorted(set(by_label[l1]) & set(by_label[l2]))
            for ai, a in enumerate(common):
                for b in common[ai + 1 :]:
                    a1, b1, a2, b2 = (
                        by_label[l1][a],
                        by_label[l1][b],
                        by_label[l2][a],
                        by_label[l2][b],
                    )
                    faster1 = _median(a1) < _median(b1)
                    faster2 = _median(a2) < _median(b2)
                    if faster1 == faster2:
                        continue
                    win1, lose1 = (a1, b1) if faster1 else (b1, a1)
                    win2, lose2 = (a2, b2) if faster2 else (b2, a2)
                    out.append(
                        Finding(
                            "rank-inversion",
                            f"{win1.spec.model.name} is faster than {lose1.spec.model.name} on "
                            f"{l1} ({_median(win1):.3g} vs {_median(lose1):.3g} ms) but slower on "
                            f"{l2} ({_median(lose2):.3g} vs {_median(win2):.3g} ms)",
                            {
                                "targets": [l1, l2],
                                "models": [a, b],
                                "median_ms": {
                                    l1: [_median(a1), _median(b1)],
                                    l2: [_median(a2), _median(b2)],
                                },
                            },
                            (a1.id, b1.id, a2.id, b2.id),
                            _apart(win1, lose1) and _apart(win2, lose2),
                            f"{l1} / {l2}",
                        )
                    )
    return out


def _layer_shares(rec: ResultRecord) -> dict[str, tuple[float, float | None]]:
    """Layer type -> (share of the profiled layers' time, share of their FLOPs)."""
    times: dict[str, float] = defaultdict(float)
    flops: dict[str, int] = defaultdict(int)
    known = True
    for layer in rec.layers:
        times[layer.layer_type] += layer.time_ms or 0.0
        if layer.flops is None and layer.layer_type not in ("reshape", "other"):
            known = False
        flops[layer.layer_type] += layer.flops or 0
    all_flops = sum(flops.values())
    total_ms = sum(times.values())
    if total_ms <= 0:
        return {}
    return {
        kind: (t / total_ms, flops[kind] / all_flops if known and all_flops else None)
        for kind, t in times.items()
    }


def layer_time_vs_flops(results: Sequence[StudyResult]) -> list[Finding]:
    out = []
    for rec in _ok(results, "layers"):
        if not rec.layers:
            continue
        label = target_label(rec)
        for kind, (time_share, flop_share) in sorted(_layer_shares(rec).items()):
            if flop_share is None or time_share < SHARE_MIN:
                continue
            if time_share < SHARE_RATIO * flop_share:
                continue
            out.append(
                Finding(
                    "layer-time-exceeds-flops",
                    f"{rec.spec.model.name} on {label}: {kind} takes {time_share:.1%} of the "
                    f"layer time for {flop_share:.1%} of the FLOPs",
                    {
                        "model": rec.spec.model.name,
                        "layer_type": kind,
                        "time_share": time_share,
                        "flop_share": flop_share,
                    },
                    (rec.id,),
                    None,
                    label,
                )
            )
    return out


def overhead_vs_threads(results: Sequence[StudyResult]) -> list[Finding]:
    out = []
    recs = [r for r in _ok(results, "layers") if r.layers]

    def key(r: ResultRecord) -> tuple[str, str, str]:
        return (r.spec.model.name, r.spec.target.engine, r.spec.target.precision)

    for (model, engine, precision), group in _group(recs, key).items():
        points = []
        for r in group:
            threads = r.effective.threads or r.spec.target.threads
            layer_ms = sum(x.time_ms or 0.0 for x in r.layers)
            points.append((threads or 0, (_median(r) - layer_ms) / _median(r), r))
        points.sort(key=lambda p: (p[0], p[1]))
        if len({p[0] for p in points}) < 2:
            continue
        shares = [p[1] for p in points]
        rising = all(b >= a for a, b in itertools.pairwise(shares))
        text = ", ".join(f"{p[1]:.1%} at {p[0]} thread(s) ({target_label(p[2])})" for p in points)
        verdict = "; it rises with threads" if rising else "; no monotonic rise"
        if any(p[1] < 0 for p in points):
            verdict += (
                "; negative shares: the profiled layers add up to more than the unprofiled "
                "call (the profiler's own cost exceeds the overhead), so read them with care"
            )
        out.append(
            Finding(
                "overhead-vs-threads",
                f"{model} on {engine} {precision}: unattributed overhead {text}{verdict}",
                {
                    "model": model,
                    "engine": engine,
                    "points": [{"threads": p[0], "overhead_share": p[1]} for p in points],
                    "rising": rising,
                },
                tuple(p[2].id for p in points),
                None,
                f"{engine} {precision}",
            )
        )
    return out


def all_findings(results: Sequence[StudyResult], *, workload_images: int = 0) -> list[Finding]:
    """Every finder over one set of results, in the order the seeds state them."""
    out: list[Finding] = []
    out += more_flops_lower_latency(results)
    out += rank_inversions(results)
    out += layer_time_vs_flops(results)
    out += overhead_vs_threads(results)
    out += flops_latency_correlation(results)
    out += accelerated_speedup(results)
    if workload_images:
        out += best_parallel_mode(results, workload_images)
    return out
