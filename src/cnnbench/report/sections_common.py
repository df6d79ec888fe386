"""Sections every report ends with: the warnings and the machine fingerprint(s)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from cnnbench.report.doc import Context, Section, Table
from cnnbench.report.labels import target_label, workload_label
from cnnbench.results.record import ResultRecord

# Warning kinds (the text before the first colon of a record's warning) and what they mean.
KINDS = {
    "noise": "CV above 10 %",
    "drift": "the first and last third of the samples differ by more than 5 %",
    "outlier": "the minimum is below 70 % of the median",
    "warm-up": "the warm-up did not settle",
    "ci": "the CI target was not reached within the budget",
    "phases": "the series changed level part-way",
    "rounds": "interleaved rounds' medians more than 5 % apart",
    "isa": "nodes run kernels above the ISA cap",
    "above peak": "the achieved GFLOP/s is above the measured peak",
    "precision drift": "the output differs from the fp32 reference beyond the tolerance",
    "clocks": "the CPU clock was not steady",
}


def warning_kind(text: str) -> str:
    head = text.split(":", 1)[0].strip()
    return head if len(head) <= 24 else "other"


def warning_rows(records: Sequence[ResultRecord]) -> list[tuple[str, ...]]:
    """One row per warning, failed run and failed sweep point."""
    rows: list[tuple[str, ...]] = []
    for rec in records:
        who = (rec.id[:12], workload_label(rec.spec), target_label(rec.spec), rec.spec.mode)
        if rec.status != "ok":
            rows.append((*who, f"failed: {rec.status}", (rec.error or "no message")[:300]))
        for w in rec.warnings:
            rows.append((*who, warning_kind(w), w[:300]))
        if rec.throughput is not None:
            for p in rec.throughput.sweep:
                if p.status != "ok":
                    text = f"batch {p.batch}: {p.status}" + (
                        f": {p.error[:200]}" if p.error else ""
                    )
                    rows.append((*who, "failed point", text))
        if (
            rec.roofline is not None
            and rec.roofline.warning
            and rec.roofline.warning not in rec.warnings
        ):
            rows.append((*who, "above peak", rec.roofline.warning[:300]))
    return rows


def warnings_section(records: Sequence[ResultRecord], ctx: Context) -> Section:
    rows = warning_rows(records)
    counts = Counter(r[4] for r in rows)
    notes = tuple(
        f"{kind}: {n} ({KINDS[kind]})" if kind in KINDS else f"{kind}: {n}"
        for kind, n in counts.most_common()
    )
    intro = (
        f"{len(rows)} warning(s) and failure(s) over {len(records)} run(s)."
        if rows
        else f"No warnings or failures over {len(records)} run(s)."
    )
    table = Table(
        "warnings-table",
        "Warnings, failed runs and failed points",
        ("run", "model", "target", "mode", "kind", "message"),
        tuple(rows),
    )
    return Section("warnings", "Warnings", intro, tables=(table,), notes=notes)


def _gib(value: Any) -> str:
    return f"{value / 2**30:.1f} GiB" if isinstance(value, int | float) else "-"


def _size(n: Any) -> str:
    if not isinstance(n, int | float):
        return "?"
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 2**10:g} KiB"


def _caches(caches: Any) -> str:
    """``L1d 48 KiB; L1i 32 KiB; L2 1 MiB; L3 32 MiB (shared 0-1)``."""
    if not isinstance(caches, list):
        return "-"
    parts = []
    for c in caches:
        if not isinstance(c, dict):
            continue
        kind = {"data": "d", "instruction": "i"}.get(str(c.get("type")), "")
        text = f"L{c.get('level', '?')}{kind} {_size(c.get('size_bytes'))}"
        shared = c.get("shared_cpu_list")
        if isinstance(shared, str) and any(ch in shared for ch in ",-"):
            text += f" (shared by CPUs {shared})"
        parts.append(text)
    return "; ".join(parts) or "-"


def fingerprint_rows(m: dict[str, Any]) -> list[tuple[str, str]]:
    isa = m.get("isa")
    gpus = m.get("gpus") or []
    rows = [
        ("id", str(m.get("id"))),
        ("hostname", str(m.get("hostname", "-"))),
        ("CPU", str(m.get("cpu_model", "-"))),
        ("architecture", str(m.get("arch", "-"))),
        (
            "cores (logical / physical)",
            f"{m.get('logical_cores', '-')} / {m.get('physical_cores', '-')}",
        ),
        ("ISA", " ".join(isa) if isinstance(isa, list) else str(isa or "-")),
        ("caches", _caches(m.get("caches"))),
        ("memory", _gib(m.get("memory_bytes"))),
        ("OS", str(m.get("os", "-"))),
        ("kernel", str(m.get("kernel", "-"))),
        ("hypervisor", str(m.get("hypervisor") or "none")),
        (
            "GPUs",
            ", ".join(str(g.get("name", g)) if isinstance(g, dict) else str(g) for g in gpus)
            or "none",
        ),
        ("python", str(m.get("python", "-"))),
    ]
    known = {
        "id",
        "hostname",
        "cpu_model",
        "arch",
        "logical_cores",
        "physical_cores",
        "isa",
        "caches",
        "memory_bytes",
        "os",
        "kernel",
        "hypervisor",
        "gpus",
        "python",
    }
    rows += [(k, str(v)[:200]) for k, v in sorted(m.items()) if k not in known]
    return rows


def machines_section(records: Sequence[ResultRecord], ctx: Context) -> Section:
    machines: dict[str, dict[str, Any]] = {}
    software: dict[str, set[str]] = {}
    for rec in records:
        machines.setdefault(str(rec.machine.get("id")), rec.machine)
        for pkg, version in rec.software.items():
            software.setdefault(pkg, set()).add(version)
    tables = []
    for i, (mid, m) in enumerate(machines.items(), 1):
        tables.append(
            Table(
                f"machine-{i}",
                f"Machine {i}: {m.get('cpu_model', mid)}",
                ("field", "value"),
                tuple(fingerprint_rows(m)),
            )
        )
        peaks = ctx.peaks.get(mid) or []
        if peaks:
            rows = tuple(
                (
                    str(p.get("kind")),
                    str(p.get("precision")),
                    f"{p.get('value', 0):.1f} {p.get('unit', '')}",
                    str(p.get("threads", "-")),
                    str(p.get("method", "-")),
                    "estimated" if p.get("kind") == "theoretical" else "measured",
                )
                for p in peaks
            )
            tables.append(
                Table(
                    f"machine-{i}-peaks",
                    f"Machine {i}: peaks",
                    ("kind", "precision", "value", "threads", "method", "source"),
                    rows,
                )
            )
    if software:
        tables.append(
            Table(
                "software",
                "Software",
                ("package", "version(s)"),
                tuple((k, ", ".join(sorted(v))) for k, v in sorted(software.items())),
            )
        )
    return Section(
        "machines", "Machines", f"{len(machines)} machine(s) measured.", tables=tuple(tables)
    )
