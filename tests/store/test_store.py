"""The SQLite store: round trip, raw samples, resume keys, bad files, export/import."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from cnnbench.errors import BadInput, StoreError
from cnnbench.results.exchange import read_jsonl, write_jsonl
from cnnbench.store._schema import SCHEMA_VERSION
from cnnbench.store.sqlite import Store
from records import MACHINE, make_record


def test_round_trip_keeps_every_field_and_sample(tmp_path: Path) -> None:
    rec = make_record(seed=7)
    with Store(tmp_path / "s.db") as store:
        store.save(rec)
        back = store.get(rec.id)
    assert back == rec
    assert back.samples_ms == rec.samples_ms  # bit-exact float64 blob
    assert back.to_json() == rec.to_json()


def test_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "machines", "runs", "samples"} <= tables


def test_machine_is_stored_once_and_runs_reference_it(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.save(make_record(seed=1))
        store.save(make_record(seed=2))
        assert store.machines() == [MACHINE]
        assert store.count() == 2


def test_keys_mark_done_specs_for_resume(tmp_path: Path) -> None:
    ok, failed = make_record("tinynet"), make_record("resnet18", status="crashed")
    with Store(tmp_path / "s.db") as store:
        store.save_many([ok, failed])
        assert store.ok_run_ids([ok.key, failed.key, "no-such-key"]) == {ok.key: ok.id}


def test_query_filters_and_prefix_lookup(tmp_path: Path) -> None:
    a, b = make_record("tinynet"), make_record("resnet18", status="oom")
    with Store(tmp_path / "s.db") as store:
        store.save_many([a, b])
        assert [r.id for r in store.query(model="resnet18")] == [b.id]
        assert [r.id for r in store.query(status="ok")] == [a.id]
        assert store.get(a.id[:10]).id == a.id
        with pytest.raises(StoreError):
            store.get("zzzz")


def test_a_failing_batch_writes_nothing(tmp_path: Path) -> None:
    rec = make_record()
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.save_many([make_record(seed=3), rec, rec])  # duplicate id in one transaction
        assert store.count() == 0


def test_corrupted_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="corrupted"):
        Store(path)
    assert path.read_bytes().startswith(b"this is not")  # untouched


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a cnnbench store"):
        Store(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema"):
        Store(path)


def test_unwritable_location_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Store(tmp_path / "missing-dir" / "s.db")
    with pytest.raises(StoreError):
        Store(tmp_path)  # a directory


def test_export_import_round_trip(tmp_path: Path) -> None:
    records = [make_record(seed=s) for s in range(3)] + [make_record(status="timeout")]
    buf = io.StringIO()
    assert write_jsonl(records, buf) == 4
    path = tmp_path / "out.jsonl"
    path.write_text(buf.getvalue())
    back = read_jsonl(path)
    assert back == records
    with Store(tmp_path / "other.db") as store:
        assert store.save_many(back, skip_existing=True) == 4
        assert store.save_many(back, skip_existing=True) == 0  # idempotent


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(schema="cnnbench.result/0"),
        lambda d: d.update(status="fine"),
        lambda d: d.pop("machine"),
        lambda d: d["latency_ms"].pop("median"),
        lambda d: d.update(samples_ms=["a"]),
        lambda d: d["spec"].update(batch=0),
        lambda d: d.update(spec_hash="0" * 20),
        lambda d: d.update(created="yesterday"),
    ],
)
def test_an_invalid_line_refuses_the_whole_file(tmp_path: Path, mutate) -> None:  # type: ignore[no-untyped-def]
    good = [make_record(seed=1).to_json(), make_record(seed=2).to_json()]
    bad = json.loads(json.dumps(good[1]))
    mutate(bad)
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(good[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(BadInput, match=":2:"):
        read_jsonl(path)


def test_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("{not json\n")
    with pytest.raises(BadInput, match="not JSON"):
        read_jsonl(path)
