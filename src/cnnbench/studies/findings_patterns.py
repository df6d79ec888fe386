"""Finders of seeds 003 and 002: FLOPs-latency rank correlation and accelerated-engine speedup
per design pattern, and the best parallel mode for a whole workload (see
:mod:`cnnbench.studies.findings`)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from cnnbench.results.record import ResultRecord
from cnnbench.studies._finding import (
    ACCELERATED,
    Finding,
    _flops,
    _group,
    _median,
    _ok,
    target_label,
)
from cnnbench.studies.runner import StudyResult


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
