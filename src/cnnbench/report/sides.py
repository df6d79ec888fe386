"""What ``results compare A B`` compares: each side is a store or export file, a filter over the
store (``engine=openvino,threads=2``; a bare engine name is ``engine=NAME``), or a run id.

Pairing follows from the sides: two files pair equal specs (and regressions are checked where
both runs come from one machine); two filters pair records whose identity is equal once the
filtered fields are set aside (``engine=torch`` against ``engine=openvino`` pairs each model,
batch and thread count measured on both; engine options go with the engine); two run ids are
one pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnbench.errors import BadInput
from cnnbench.report.compare import Comparison, compare_records
from cnnbench.report.labels import config_key, config_label
from cnnbench.results.record import ResultRecord

FILTER_FIELDS = (
    "model",
    "engine",
    "device",
    "precision",
    "threads",
    "streams",
    "isa",
    "batch",
    "mode",
    "cores",
)
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Side:
    label: str
    kind: str  # "file", "filter" or "run"
    records: tuple[ResultRecord, ...]
    fields: frozenset[str] = frozenset()  # the filtered fields


def _field_value(rec: ResultRecord, name: str) -> str:
    value = rec.spec.identity().get(name)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_filter(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(";" if ";" in text else ","):
        if "=" not in part:
            raise BadInput(f"compare: {text[:60]!r}: a filter is key=value[,key=value]")
        key, value = (x.strip() for x in part.split("=", 1))
        if key not in FILTER_FIELDS:
            raise BadInput(
                f"compare: unknown field {key[:30]!r} (known: {', '.join(FILTER_FIELDS)})"
            )
        out[key] = value
    return out


def read_file(path: Path) -> list[ResultRecord]:
    """Every record of a store file or a JSON lines export, with raw samples."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head == SQLITE_MAGIC:
        from cnnbench.store.sqlite import Store

        with Store(path, create=False) as store:
            return list(store.iter_all(samples=True))
    from cnnbench.results.exchange import read_jsonl

    return read_jsonl(path)


def resolve(text: str, store_records: Sequence[ResultRecord] | None) -> Side:
    """One side of a comparison. ``store_records`` are the default store's records (with
    samples), or None when there is no store."""
    path = Path(text)
    if path.is_file():
        return Side(text, "file", tuple(read_file(path)))
    records = store_records or ()
    if "=" in text:
        wanted = parse_filter(text)
        chosen = [r for r in records if all(_field_value(r, k) == v for k, v in wanted.items())]
        if not chosen:
            raise BadInput(f"compare: no run in the store matches {text[:60]!r}")
        return Side(text, "filter", tuple(chosen), frozenset(wanted))
    if any(r.spec.target.engine == text for r in records):
        chosen = [r for r in records if r.spec.target.engine == text]
        return Side(text, "filter", tuple(chosen), frozenset({"engine"}))
    by_id = [r for r in records if r.id == text] or [r for r in records if r.id.startswith(text)]
    if len(by_id) == 1:
        return Side(text, "run", (by_id[0],))
    if len(by_id) > 1:
        raise BadInput(f"compare: run id prefix {text[:40]!r} is ambiguous; give more characters")
    where = "the store" if store_records is not None else "any store (there is none)"
    raise BadInput(
        f"compare: {text[:60]!r} is neither a file, a run id, an engine in {where}, "
        "nor a filter such as engine=openvino,threads=2"
    )


def compare_sides(a: Side, b: Side, *, seed: int = 0) -> Comparison:
    if a.kind == "run" and b.kind == "run":
        ra, rb = a.records[0], b.records[0]
        for side, rec in ((a, ra), (b, rb)):
            if rec.status != "ok" or not rec.samples_ms:
                raise BadInput(
                    f"compare: run {side.label[:40]} has no samples (status {rec.status})"
                )
        return compare_records(
            [ra],
            [rb],
            lambda r: 0,
            lambda r: config_label(r),
            a_label=a.label,
            b_label=b.label,
            seed=seed,
        )
    if a.kind == "file" and b.kind == "file":
        same = {r.machine.get("id") for r in a.records} & {r.machine.get("id") for r in b.records}
        return compare_records(
            # one configuration on two machines pairs too (two machines' exports)
            a.records,
            b.records,
            lambda r: config_key(r, machine=False),
            lambda r: config_label(r),
            a_label=a.label,
            b_label=b.label,
            regressions=bool(same),
            seed=seed,
        )
    drop = set(a.fields | b.fields)
    if "engine" in drop:
        drop.add("options")
    return compare_records(
        a.records,
        b.records,
        lambda r: config_key(r, drop),
        lambda r: config_label(r, drop),
        a_label=a.label,
        b_label=b.label,
        seed=seed,
    )
