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
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from cnnbench.results.record import ResultRecord
from cnnbench.studies.runner import StudyResult

SHARE_RATIO = 2.0  # a layer type whose time share is this many times its FLOP share
SHARE_MIN = 0.05  # ... and at least 5 % of the time
ACCELERATED = ("openvino", "onnxruntime")


@dataclass(frozen=True)
class Finding:
    kind: str
    statement: str
    numbers: dict[str, Any]
    sources: tuple[str, ...]
    significant: bool | None = None
    where: str = ""  # the target (or group) it holds on

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "where": self.where,
            "statement": self.statement,
            "significant": self.significant,
            "numbers": self.numbers,
            "sources": list(self.sources),
        }


def target_label(rec: ResultRecord) -> str:
    """A target as findings name it: its study name, engine, precision, threads, streams."""
    t = rec.spec.target
    parts = [t.name or "-", t.engine, t.precision]
    if t.threads is not None:
        parts.append(f"{t.threads}t")
    if t.streams > 1:
        parts.append(f"{t.streams}s")
    return " ".join(parts)


def _ok(results: Sequence[StudyResult], metric: str) -> list[ResultRecord]:
    return [
        r.record
        for r in results
        if metric in r.metrics and r.record.status == "ok" and r.record.latency_ms is not None
    ]


def _median(rec: ResultRecord) -> float:
    assert rec.latency_ms is not None
    return rec.latency_ms.median


def _apart(fast: ResultRecord, slow: ResultRecord) -> bool:
    """The faster record's CI95 lies wholly below the slower one's."""
    assert fast.latency_ms is not None and slow.latency_ms is not None
    return fast.latency_ms.ci95[1] < slow.latency_ms.ci95[0]


def _flops(rec: ResultRecord) -> int | None:
    c = rec.cost
    return c.flops if c.flops and not c.lower_bound else None


def _group(
    recs: Sequence[ResultRecord], key: Callable[[ResultRecord], Any]
) -> dict[Any, list[ResultRecord]]:
    out: dict[Any, list[ResultRecord]] = defaultdict(list)
    for rec in recs:
        out[key(rec)].append(rec)
    return out


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


def pattern_of(model: str) -> tuple[str, int, int] | None:
    """(pattern, depth, width) of a ``pattern/NAME?depth=D&width=W`` reference."""
    if not model.startswith("pattern/"):
        return None
    name, _, query = model[len("pattern/") :].partition("?")
    q = parse_qs(query)
    try:
        return name, int(q["depth"][0]), int(q["width"][0])
    except (KeyError, ValueError):
        return None


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else None


def flops_latency_correlation(results: Sequence[StudyResult]) -> list[Finding]:
    out = []
    recs = [r for r in _ok(results, "latency") if pattern_of(r.spec.model.name) and _flops(r)]

    def key(r: ResultRecord) -> tuple[str, str, int]:
        p = pattern_of(r.spec.model.name)
        assert p is not None
        return (p[0], target_label(r), r.spec.batch)

    for (pattern, label, batch), group in sorted(_group(recs, key).items()):
        rho = spearman([float(_flops(r) or 0) for r in group], [_median(r) for r in group])
        if rho is None:
            continue
        out.append(
            Finding(
                "flops-latency-rank-correlation",
                f"{pattern} on {label}, batch {batch}: Spearman rho {rho:+.2f} between FLOPs and "
                f"latency over {len(group)} depth x width variants",
                {"pattern": pattern, "batch": batch, "rho": rho, "n": len(group)},
                tuple(r.id for r in group),
                None,
                label,
            )
        )
    return out


def accelerated_speedup(results: Sequence[StudyResult]) -> list[Finding]:
    """torch median / accelerated engine median for the same model, batch and target."""
    recs = _ok(results, "latency")

    def key(r: ResultRecord) -> tuple[Any, ...]:
        t = r.spec.target
        return (r.spec.model.name, r.spec.batch, t.name, t.precision, t.threads, t.streams)

    pairs: dict[tuple[str, str], list[tuple[ResultRecord, ResultRecord, float]]] = defaultdict(list)
    for _, group in _group(recs, key).items():
        native = next((r for r in group if r.spec.target.engine == "torch"), None)
        if native is None:
            continue
        for acc in group:
            if acc.spec.target.engine in ACCELERATED:
                p = pattern_of(acc.spec.model.name)
                family = p[0] if p else acc.spec.model.name
                name = f"{acc.spec.target.engine} {acc.spec.target.precision}"
                pairs[(family, name)].append((native, acc, _median(native) / _median(acc)))
    out = []
    for (family, engine), items in sorted(pairs.items()):
        ratios = [s for _, _, s in items]
        points = []
        for native, acc, s in items:
            p = pattern_of(acc.spec.model.name)
            points.append(
                {
                    "depth": p[1] if p else None,
                    "width": p[2] if p else None,
                    "batch": acc.spec.batch,
                    "speedup": s,
                    "torch_ms": _median(native),
                    "accelerated_ms": _median(acc),
                }
            )
        mean = statistics.fmean(ratios)
        out.append(
            Finding(
                "accelerated-speedup",
                f"{family}: {engine} against torch, mean speedup {mean:.2f}x "
                f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x, {len(ratios)} configurations)",
                {"family": family, "engine": engine, "mean_speedup": mean, "points": points},
                tuple(x.id for n, a, _ in items for x in (n, a)),
                None,
                engine,
            )
        )
    return out


def workload_seconds(rec: ResultRecord, images: int) -> float | None:
    """The time of ``images`` images at the record's measured images/s."""
    return images / rec.throughput_ips if rec.throughput_ips else None


def best_parallel_mode(results: Sequence[StudyResult], images: int) -> list[Finding]:
    recs = [r for r in _ok(results, "workload") if r.throughput_ips]

    def key(r: ResultRecord) -> tuple[str, str, str, str]:
        t = r.spec.target
        return (r.spec.model.name, t.name or "-", t.engine, t.precision)

    out = []
    for (model, name, engine, precision), group in _group(recs, key).items():
        timed = sorted(((workload_seconds(r, images) or 0.0, r) for r in group), key=lambda x: x[0])
        best_s, best = timed[0]
        t = best.spec.target
        tps = (t.threads or 0) // t.streams if t.threads else None
        numbers: dict[str, Any] = {
            "model": model,
            "images": images,
            "best": {
                "streams": t.streams,
                "threads": t.threads,
                "threads_per_stream": tps,
                "seconds": best_s,
            },
            "points": [
                {"streams": r.spec.target.streams, "threads": r.spec.target.threads, "seconds": s}
                for s, r in timed
            ],
        }
        text = (
            f"{model} on {name} {engine} {precision}: {images} images fastest with "
            f"{t.streams} stream(s) x {tps or '?'} thread(s) per stream, {best_s:.3g} s"
        )
        if len(timed) > 1:
            numbers["margin_over_next"] = timed[1][0] / best_s - 1
            text += f", {numbers['margin_over_next']:.1%} ahead of the next point"
        single = [(s, r) for s, r in timed if r.spec.target.streams == 1]
        if single and best.spec.target.streams != 1:
            s1, r1 = max(single, key=lambda x: x[1].spec.target.threads or 0)
            numbers["margin_over_one_stream"] = s1 / best_s - 1
            text += (
                f", {numbers['margin_over_one_stream']:.1%} ahead of one stream on "
                f"{r1.spec.target.threads} thread(s)"
            )
        out.append(
            Finding(
                "best-parallel-mode",
                text,
                numbers,
                tuple(r.id for _, r in timed),
                None,
                f"{name} {engine} {precision}",
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
