"""The result record (schema ``cnnbench.result/1``): building, validating, (de)serialising."""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.measure.stats import LatencyStats
from cnnbench.spec import RunSpec

SCHEMA = "cnnbench.result/1"
STATUSES = ("ok", "failed", "oom", "timeout", "crashed", "unsupported")
LATENCY_KEYS = ("mean", "median", "p90", "p99", "min", "max", "std", "cv", "ci95", "n")


def not_measured(reason: str) -> dict[str, Any]:
    """A section that could not be measured: its source is ``none`` and it says why."""
    return {"source": "none", "reason": reason}


def run_key(spec_hash: str, machine_id: str) -> str:
    """The store key of a measurement: the spec's identity on one machine."""
    return hashlib.sha256(f"{spec_hash}@{machine_id}".encode()).hexdigest()[:20]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ResultRecord:
    spec: RunSpec
    status: str
    machine: dict[str, Any]
    software: dict[str, Any]
    error: str | None = None
    effective: dict[str, Any] = field(default_factory=dict)
    latency_ms: LatencyStats | None = None
    throughput_ips: float | None = None
    throughput: dict[str, Any] | None = None
    samples_ms: tuple[float, ...] = ()
    cost: dict[str, Any] | None = None
    energy: dict[str, Any] = field(
        default_factory=lambda: not_measured("no energy probe was requested for this run")
    )
    counters: dict[str, Any] = field(
        default_factory=lambda: not_measured("no counter probe was requested for this run")
    )
    agreement: dict[str, Any] | None = None
    roofline: dict[str, Any] | None = None
    timing: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    @property
    def spec_hash(self) -> str:
        return self.spec.spec_hash()

    @property
    def key(self) -> str:
        return run_key(self.spec_hash, str(self.machine.get("id")))

    def with_samples(self, samples_ms: tuple[float, ...]) -> ResultRecord:
        return replace(self, samples_ms=samples_ms)

    def to_dict(self, *, samples: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "schema": SCHEMA,
            "spec_hash": self.spec_hash,
            "key": self.key,
            "spec": self.spec.to_dict(),
            "status": self.status,
            "error": self.error,
            "machine": self.machine,
            "software": self.software,
            "effective": self.effective,
            "latency_ms": self.latency_ms.to_dict() if self.latency_ms else None,
            "throughput_ips": self.throughput_ips,
            "throughput": self.throughput,
            "cost": self.cost,
            "energy": self.energy,
            "counters": self.counters,
            "agreement": self.agreement,
            "roofline": self.roofline,
            "timing": self.timing,
            "warnings": list(self.warnings),
        }
        if samples:
            d["samples_ms"] = list(self.samples_ms)
        return d

    @classmethod
    def from_dict(cls, d: Any) -> ResultRecord:
        """Parse and validate a record; any defect is a :class:`BadInput` naming the field."""
        validate(d)
        latency = d.get("latency_ms")
        return cls(
            spec=RunSpec.from_dict(d["spec"]),
            status=d["status"],
            machine=d["machine"],
            software=d.get("software") or {},
            error=d.get("error"),
            effective=d.get("effective") or {},
            latency_ms=LatencyStats.from_dict(latency) if latency else None,
            throughput_ips=d.get("throughput_ips"),
            throughput=d.get("throughput"),
            samples_ms=tuple(float(x) for x in d.get("samples_ms") or ()),
            cost=d.get("cost"),
            energy=d.get("energy") or not_measured("absent from the imported record"),
            counters=d.get("counters") or not_measured("absent from the imported record"),
            agreement=d.get("agreement"),
            roofline=d.get("roofline"),
            timing=d.get("timing") or {},
            warnings=tuple(d.get("warnings") or ()),
            id=d["id"],
            created=d["created"],
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate(d: Any) -> None:
    """Check a record against schema ``cnnbench.result/1``; raise :class:`BadInput` if off."""

    def fail(msg: str) -> None:
        raise BadInput(f"not a valid {SCHEMA} record: {msg}")

    if not isinstance(d, dict):
        fail(f"expected a JSON object, got {type(d).__name__}")
    if d.get("schema") != SCHEMA:
        fail(f"schema is {d.get('schema')!r}")
    for key in ("id", "created"):
        if not isinstance(d.get(key), str) or not d[key]:
            fail(f"{key!r} must be a non-empty string")
    try:
        datetime.fromisoformat(d["created"])
    except ValueError:
        fail(f"'created' is not an ISO 8601 time: {d['created']!r}")
    if not isinstance(d.get("spec"), dict):
        fail("'spec' must be an object")
    try:
        spec = RunSpec.from_dict(d["spec"])
    except BadInput as exc:
        fail(f"spec: {exc}")
    if "spec_hash" in d and d["spec_hash"] != spec.spec_hash():
        fail("'spec_hash' does not match the spec")
    if d.get("status") not in STATUSES:
        fail(f"status {d.get('status')!r} is not one of {', '.join(STATUSES)}")
    if d.get("error") is not None and not isinstance(d["error"], str):
        fail("'error' must be a string or null")
    machine = d.get("machine")
    if not isinstance(machine, dict) or not isinstance(machine.get("id"), str):
        fail("'machine' must be an object with an 'id'")
    latency = d.get("latency_ms")
    if d["status"] == "ok" and not isinstance(latency, dict):
        fail("an ok record needs 'latency_ms'")
    if latency is not None:
        if not isinstance(latency, dict):
            fail("'latency_ms' must be an object")
        for key in LATENCY_KEYS:
            if key not in latency:
                fail(f"latency_ms lacks {key!r}")
        ci = latency["ci95"]
        if not (isinstance(ci, list) and len(ci) == 2 and all(_number(x) for x in ci)):
            fail("latency_ms.ci95 must be two numbers")
        for key in LATENCY_KEYS[:-2]:
            if not _number(latency[key]):
                fail(f"latency_ms.{key} must be a finite number")
    samples = d.get("samples_ms", [])
    if not isinstance(samples, list) or not all(_number(x) for x in samples):
        fail("'samples_ms' must be a list of numbers")
    if d.get("throughput_ips") is not None and not _number(d["throughput_ips"]):
        fail("'throughput_ips' must be a number or null")
    warnings = d.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        fail("'warnings' must be a list of strings")
    for section in ("energy", "counters"):
        value = d.get(section)
        if value is not None and not (isinstance(value, dict) and "source" in value):
            fail(f"'{section}' must be an object with a 'source'")
