"""What every finder shares: the :class:`Finding`, target labels and record helpers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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
