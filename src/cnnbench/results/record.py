"""The result record (schema ``cnnbench.result/1``): typed sections, one JSON pair, validation.

The JSON layout is the one records have had since the schema began: records exported by earlier
versions import unchanged, and new records have the same keys plus optional new ones
(``probes``, ``layers``, ``profile``). :meth:`ResultRecord.from_json` checks the record section
by section with the same typed sections the worker writes; any defect is a
:class:`~cnnbench.errors.BadInput` that names the field.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from cnnbench.errors import BadInput
from cnnbench.results._json import Fields, JsonDict, check_tree
from cnnbench.results.effective import Effective
from cnnbench.results.loadgen import LoadgenResult
from cnnbench.results.meters import (
    NOT_REQUESTED_COUNTERS,
    NOT_REQUESTED_ENERGY,
    Counters,
    Energy,
    ProbeReading,
)
from cnnbench.results.profile import Profile
from cnnbench.results.roofline import Roofline
from cnnbench.results.rounds import Timing
from cnnbench.results.sections import Agreement, Cost, LayerRecord
from cnnbench.results.speed import STATUSES, LatencyStats, Throughput
from cnnbench.spec import RunSpec

SCHEMA = "cnnbench.result/1"
ABSENT = "absent from the imported record"


def run_key(spec_hash: str, machine_id: str) -> str:
    """The store key of a measurement: the spec's identity on one machine."""
    return hashlib.sha256(f"{spec_hash}@{machine_id}".encode()).hexdigest()[:20]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ResultRecord:
    spec: RunSpec
    status: str
    machine: JsonDict  # the machine fingerprint (cnnbench.system.fingerprint), with an "id"
    software: JsonDict  # package -> version
    error: str | None = None
    effective: Effective = field(default_factory=Effective)
    latency_ms: LatencyStats | None = None
    throughput_ips: float | None = None
    throughput: Throughput | None = None
    samples_ms: tuple[float, ...] = ()
    cost: Cost = field(default_factory=lambda: Cost.none("not computed"))
    energy: Energy = field(default_factory=lambda: Energy.none(NOT_REQUESTED_ENERGY))
    counters: Counters = field(default_factory=lambda: Counters.none(NOT_REQUESTED_COUNTERS))
    agreement: Agreement | None = None
    roofline: Roofline | None = None
    timing: Timing = field(default_factory=Timing)
    probes: tuple[ProbeReading, ...] = ()
    layers: tuple[LayerRecord, ...] = ()
    profile: Profile | None = None  # mode profile: overhead, distortion, BatchNorm
    warnings: tuple[str, ...] = ()
    loadgen: LoadgenResult | None = None  # mode loadgen: LoadGen's run and verdict
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

    def to_json(self, *, samples: bool = True) -> JsonDict:
        d: JsonDict = {
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
            "effective": self.effective.to_json(),
            "latency_ms": self.latency_ms.to_json() if self.latency_ms else None,
            "throughput_ips": self.throughput_ips,
            "throughput": self.throughput.to_json() if self.throughput else None,
            "cost": self.cost.to_json(),
            "energy": self.energy.to_json(),
            "counters": self.counters.to_json(),
            "agreement": self.agreement.to_json() if self.agreement else None,
            "roofline": self.roofline.to_json() if self.roofline else None,
            "timing": self.timing.to_json(),
            "warnings": list(self.warnings),
        }
        if self.probes:
            d["probes"] = [p.to_json() for p in self.probes]
        if self.layers:
            d["layers"] = [layer.to_json() for layer in self.layers]
        if self.profile is not None:
            d["profile"] = self.profile.to_json()
        if self.loadgen is not None:
            d["loadgen"] = self.loadgen.to_json()
        if samples:
            d["samples_ms"] = list(self.samples_ms)
        return d

    @classmethod
    def from_json(cls, d: object) -> ResultRecord:
        """Parse and validate a record; any defect is a :class:`BadInput` naming the field.

        The whole document is strict JSON first (:func:`~cnnbench.results._json.check_tree`:
        finite numbers, 64-bit integers, bounded nesting), so the sections passed through as
        they are (the machine, engines' details) can be stored and exported again.
        """
        try:
            if isinstance(d, dict):  # the samples are checked as numbers, without the walk
                check_tree({k: v for k, v in d.items() if k != "samples_ms"})
            return _parse(Fields(d))
        except BadInput as exc:
            raise BadInput(f"not a valid {SCHEMA} record: {exc}") from None


# The keys of a record's ``spec`` section: RunSpec.to_dict() (the identity, the budget) and
# ``probes``, which the identity holds only when probes are named.
SPEC_KEYS = frozenset(
    (
        "model",
        "input_shape",
        "batch",
        "engine",
        "device",
        "precision",
        "threads",
        "streams",
        "cores",
        "isa",
        "mode",
        "options",
        "probes",
        "budget",
        "isa_strict",
        "loadgen",
        "target",
        "node",
    )
)


def _spec(f: Fields) -> RunSpec:
    """The ``spec`` section: no key the spec does not know (it would be dropped, and the
    identity with it), every field checked by :meth:`RunSpec.from_dict` against spec.py's
    limits, nothing coerced."""
    for key in f.obj:
        if key not in SPEC_KEYS:
            raise BadInput(f"{f.path(key)} is not a field of a run spec")
    try:
        return RunSpec.from_dict(dict(f.obj))
    except BadInput as exc:
        raise BadInput(f"{f.where}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInput(f"{f.where}: not a valid run spec ({exc!r:.80})") from None


def _parse(f: Fields) -> ResultRecord:
    if f.raw("schema") != SCHEMA:
        raise f.fail("schema", repr(SCHEMA))
    record_id = f.name("id")
    created = f.name("created")
    try:
        datetime.fromisoformat(created)
    except ValueError:
        raise f.fail("created", "an ISO 8601 time") from None
    spec = _spec(f.fields("spec"))
    if f.has("spec_hash") and f.raw("spec_hash") != spec.spec_hash():
        raise BadInput("spec_hash does not match the spec")
    status = f.raw("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise f.fail("status", f"one of {', '.join(STATUSES)}")
    machine = f.fields("machine")
    machine_id = machine.name("id")
    if f.has("key") and f.raw("key") != run_key(spec.spec_hash(), machine_id):
        raise BadInput("key does not match the spec and the machine id")
    latency = f.opt_fields("latency_ms")
    if status == "ok" and latency is None:
        raise f.fail("latency_ms", "an object in an ok record")
    throughput = f.opt_fields("throughput")
    agreement = f.opt_fields("agreement")
    roofline = f.opt_fields("roofline")
    profile = f.opt_fields("profile")
    loadgen = f.opt_fields("loadgen")
    return ResultRecord(
        spec=spec,
        status=status,
        machine=f.mapping("machine"),
        software=f.texts("software"),
        error=f.opt_string("error"),
        effective=Effective.from_json(f.mapping("effective")),
        latency_ms=LatencyStats.from_json(latency.obj) if latency else None,
        throughput_ips=f.opt_number("throughput_ips", minimum=0),
        throughput=Throughput.from_json(throughput.obj) if throughput else None,
        samples_ms=f.numbers("samples_ms"),
        cost=Cost.from_json(f.raw("cost")) if f.has("cost") else Cost.none(ABSENT),
        energy=Energy.from_json(f.raw("energy")) if f.has("energy") else Energy.none(ABSENT),
        counters=(
            Counters.from_json(f.raw("counters")) if f.has("counters") else Counters.none(ABSENT)
        ),
        agreement=Agreement.from_json(agreement.obj) if agreement else None,
        roofline=Roofline.from_json(roofline.obj) if roofline else None,
        timing=Timing.from_json(f.mapping("timing")),
        probes=tuple(ProbeReading.from_json(p.obj, p.where) for p in f.objects("probes")),
        layers=tuple(LayerRecord.from_json(x) for x in f.objects("layers")),
        profile=Profile.from_json(profile.obj, profile.where) if profile else None,
        warnings=f.strings("warnings"),
        loadgen=LoadgenResult.from_json(loadgen.obj, loadgen.where) if loadgen else None,
        id=record_id,
        created=created,
    )
