"""LoadGen's detail log (``mlperf_log_detail.txt``) read into the record's ``loadgen`` section.

Each line LoadGen logs is ``:::MLLOG {json}`` with a ``key``, a ``value`` and ``metadata``
(``is_error``, ``is_warning``). The verdict (``result_validity``), the checks behind it
(``result_min_duration_met``, ``early_stopping_met``, ``result_perf_constraints_met``), its
reason (``result_invalid_reason``), latencies in ns (``result_90.00_percentile_latency_ns``),
rates and the early-stopping estimate are all there; FindPeakPerformance reports its peak in a
generic message. Tested against logs LoadGen 6.0 wrote (tests/fixtures/loadgen/).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from cnnbench.results.loadgen import LoadgenLog, LoadgenResult, LoadgenUsed

PREFIX = ":::MLLOG "
MAX_MESSAGES = 40  # errors, warnings and messages kept in the record, each
MESSAGE_CHARS = 300
_PERCENTILE = re.compile(r"^result_(\d+\.\d+)_percentile(_per_query)?_latency_ns$")
_PEAK = re.compile(r"Found peak performance field: ([0-9.eE+-]+)")


@dataclass
class DetailLog:
    """The entries of one detail log: the last value of each key, and the messages."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def parse_detail(text: str) -> DetailLog:
    """Every ``:::MLLOG`` line of a detail log; lines that are not JSON are skipped."""
    log = DetailLog()
    for line in text.splitlines():
        if not line.startswith(PREFIX):
            continue
        try:
            entry = json.loads(line[len(PREFIX) :])
        except json.JSONDecodeError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            continue
        key, value = entry["key"], entry.get("value")
        meta = entry.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        shown = f"{key}: {value}"[:MESSAGE_CHARS]
        if meta.get("is_error"):
            log.errors.append(shown)
        elif meta.get("is_warning"):
            log.warnings.append(shown)
        if key == "generic_message" and isinstance(value, str):
            log.messages.append(value[:MESSAGE_CHARS])
        log.values[key] = value
    return log


def _ms(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value) / 1e6


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _latencies(values: dict[str, Any], per_query: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    middle = "query_" if per_query else ""
    for name in ("min", "mean", "max"):
        ms = _ms(values.get(f"result_{name}_{middle}latency_ns"))
        if ms is not None:
            out[name] = ms
    for key, value in values.items():
        m = _PERCENTILE.match(key)
        if m and bool(m.group(2)) == per_query:
            ms = _ms(value)
            if ms is not None:
                out[f"p{float(m.group(1)):g}"] = ms
    return out


def _text(value: Any) -> str | None:
    """LoadGen's wrapped text on one line, or None when empty."""
    if not isinstance(value, str):
        return None
    joined = " ".join(value.split())
    return joined or None


def reasons(log: DetailLog) -> list[str]:
    """Why a run is INVALID: each check that failed, with LoadGen's own words."""
    v = log.values
    out: list[str] = []
    if v.get("result_perf_constraints_met") is False:
        out.append("performance constraints not met (latency bound at the percentile)")
    if v.get("result_min_duration_met") is False:
        out.append("minimum duration not met")
    if v.get("result_min_queries_met") is False:
        out.append("minimum query count not met")
    if v.get("early_stopping_met") is False:
        text = _text(v.get("early_stopping_result"))
        out.append("early stopping not met" + (f": {text}" if text else ""))
    invalid = _text(v.get("result_invalid_reason"))
    if invalid:
        out.append(f"LoadGen: {invalid}")
    out += [f"LoadGen error: {e}" for e in log.errors[:MAX_MESSAGES]]
    if v.get("result_validity") != "VALID" and not out:
        out.append("LoadGen judged the run INVALID without naming a reason")
    return out


def to_result(
    log: DetailLog, settings: LoadgenUsed, scenario: str, version: str, files: dict[str, int]
) -> LoadgenResult:
    """The record's section from a parsed detail log; a log without a verdict is INVALID."""
    v = log.values
    verdict = "VALID" if v.get("result_validity") == "VALID" else "INVALID"
    why = reasons(log)
    if "result_validity" not in v:
        why.insert(0, "LoadGen's detail log holds no verdict (result_validity)")
    early_ms: float | None = None
    for key in ("early_stopping_latency_ss", "early_stopping_latency_ms"):
        ms = _ms(v.get(key))
        if ms:  # LoadGen writes 0 where it made no estimate
            early_ms = ms
    peak = None
    for message in log.messages:
        m = _PEAK.search(message)
        if m:
            peak = float(m.group(1))
    samples_per_s = _number(v.get("result_samples_per_second"))
    if samples_per_s is None:
        samples_per_s = _number(v.get("result_completed_samples_per_sec"))
    overlatency = v.get("result_overlatency_query_count")
    count = v.get("result_query_count")
    return LoadgenResult(
        source=f"mlperf_loadgen {version}",
        scenario=scenario,
        settings=settings,
        verdict=verdict,
        reasons=tuple(why),
        query_count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
        latency_ms=_latencies(v, per_query=False),
        min_duration_met=_flag(v.get("result_min_duration_met")),
        min_queries_met=_flag(v.get("result_min_queries_met")),
        early_stopping_met=_flag(v.get("early_stopping_met")),
        perf_constraints_met=_flag(v.get("result_perf_constraints_met")),
        early_stopping_ms=early_ms,
        early_stopping=_text(v.get("early_stopping_result")),
        query_latency_ms=_latencies(v, per_query=True),
        qps=_number(v.get("result_qps_with_loadgen_overhead")),
        samples_per_s=samples_per_s,
        scheduled_samples_per_s=_number(v.get("result_scheduled_samples_per_sec")),
        overlatency_queries=overlatency if isinstance(overlatency, int) else None,
        peak_qps=peak,
        log=LoadgenLog(
            files=dict(files),
            errors=tuple(log.errors[:MAX_MESSAGES]),
            warnings=tuple(log.warnings[:MAX_MESSAGES]),
            messages=tuple(log.messages[:MAX_MESSAGES]),
            kept=False,
        ),
    )
