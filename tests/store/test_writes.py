"""Nothing is lost to a record the store cannot hold: every record of a transaction is turned into
rows and checked (strict JSON, 64-bit integers, readable back) before the transaction begins, so
one bad record is a StoreError naming it and the field, and not one row is written."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cnnbench.errors import StoreError
from cnnbench.results import Cost, Effective, LatencyStats, ResultRecord
from cnnbench.store import sqlite as store_module
from cnnbench.store.sqlite import Store
from records import MACHINE, PEAKS, make_record, store_snapshot


def _huge_batch(rec: ResultRecord) -> ResultRecord:
    spec = replace(rec.spec)
    object.__setattr__(spec, "batch", 2**70)  # past spec.py's checks, as a bug might
    return replace(rec, spec=spec)


def _deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = {"x": value}
    return value


Spoil = Callable[[ResultRecord], ResultRecord]
UNSTORABLE: list[tuple[str, Spoil, str]] = [
    (
        "nan-in-details",
        lambda r: replace(r, effective=Effective(details={"x": float("nan")})),
        "effective.x must be a finite number",
    ),
    (
        "not-json",
        lambda r: replace(r, effective=Effective(details={"x": object()})),
        "effective.x is not a JSON value",
    ),
    (
        "deep",
        lambda r: replace(r, effective=Effective(details={"x": _deep(80)})),
        "nested too deeply",
    ),
    (
        "threads-2**70",
        lambda r: replace(r, effective=Effective(threads=2**70)),
        "effective.threads must be an integer within 64 bits",
    ),
    ("batch-2**70", _huge_batch, "spec.batch must be an integer within 64 bits"),
    (
        "macs-2**64",
        lambda r: replace(r, cost=Cost("test", per="image", macs=2**64)),
        "cost.macs must be an integer within 64 bits",
    ),
    (
        "machine-int",
        lambda r: replace(r, machine={**MACHINE, "memory_bytes": 2**70}),
        "machine.memory_bytes must be an integer within 64 bits",
    ),
    (
        "machine-without-id",
        lambda r: replace(r, machine={"cpu_model": "x"}),
        "machine.id must be a non-empty string",
    ),
    (
        "nan-sample",
        lambda r: replace(r, samples_ms=(1.0, float("nan"))),
        "samples_ms must be finite numbers",
    ),
    (
        "infinite-cv",  # what the statistics give for a zero mean
        lambda r: replace(r, latency_ms=replace(r.latency_ms, cv=float("inf"))),
        "latency_ms.cv must be a finite number",
    ),
    (
        "zero-median",  # it could not be shown (tables divide by the median)
        lambda r: replace(r, latency_ms=replace(r.latency_ms, median=0.0)),
        "latency_ms.median must be a positive number",
    ),
]


@pytest.mark.parametrize(
    ("spoil", "named"), [c[1:] for c in UNSTORABLE], ids=[c[0] for c in UNSTORABLE]
)
def test_an_unstorable_record_fails_before_the_transaction_begins(
    spoil: Spoil, named: str, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.save(make_record(seed=1))
    before = store_snapshot(db)
    bad = spoil(make_record(seed=3))
    statements: list[str] = []
    with Store(db) as store:
        store._conn.set_trace_callback(statements.append)
        with pytest.raises(StoreError) as info:
            store.save_many([make_record(seed=2), bad, make_record(seed=4)])
        store._conn.set_trace_callback(None)
        message = str(info.value)
        assert message.startswith(f"record {bad.id} cannot be stored: "), message
        assert named in message, message
        assert not any(s.startswith(("BEGIN", "INSERT")) for s in statements), statements
        assert not store._conn.in_transaction
        assert store_snapshot(db) == before
        store.save(make_record(seed=5))  # the store is as usable as before
        assert store.count() == 2


def test_bad_peaks_fail_before_the_transaction_begins(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.save_peaks(MACHINE, PEAKS, "2026-01-01T00:00:00")
    before = store_snapshot(db)
    cases: list[tuple[dict[str, Any], list[dict[str, Any]], str]] = [
        (MACHINE, [PEAKS[0], {**PEAKS[1], "threads": 2**70}], "peaks[1].threads"),
        (MACHINE, [{**PEAKS[0], "value": float("nan")}], "peaks[0].value must be a finite"),
        (MACHINE, [{**PEAKS[0], "unit": None}], "peaks[0].unit must be a string"),
        ({**MACHINE, "x": float("inf")}, PEAKS, "x must be a finite number"),
        ({"cpu": "x"}, PEAKS, "the machine id must be a non-empty string"),
    ]
    with Store(db) as store:
        for machine, peaks, named in cases:
            with pytest.raises(StoreError, match="peaks cannot be stored") as info:
                store.save_peaks(machine, peaks, "2026-01-02T00:00:00")
            assert named in str(info.value)
    assert store_snapshot(db) == before


def test_a_row_this_version_cannot_read_is_a_store_error_naming_the_run(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    rec = make_record(seed=1)
    with Store(db) as store:
        store.save(rec)
    conn = sqlite3.connect(db)
    conn.execute('UPDATE runs SET record = \'{"schema": "other"}\'')
    conn.commit()
    conn.close()
    with Store(db) as store:
        with pytest.raises(StoreError, match=f"run {rec.id} in .* cannot be read: .*schema"):
            store.query()
        with pytest.raises(StoreError, match=f"run {rec.id}"):
            store.get(rec.id[:8])


def test_get_matches_the_exact_id_then_a_case_sensitive_prefix(tmp_path: Path) -> None:
    a = replace(make_record(seed=1), id="abc1")
    b = replace(make_record(seed=2), id="ABC1")
    c = replace(make_record(seed=3), id="abc1x")
    with Store(tmp_path / "s.db") as store:
        store.save_many([a, b, c])
        assert store.get("abc1").id == "abc1"  # exact, though also a prefix of abc1x
        assert store.get("AB").id == "ABC1"  # case matters: no LIKE
        assert store.get("abc1x").id == "abc1x"
        with pytest.raises(StoreError, match="ambiguous"):
            store.get("ab")
        for wildcard in ("%", "_bc1", "a%"):
            with pytest.raises(StoreError, match="no run"):
                store.get(wildcard)


# -- opening ---------------------------------------------------------------------------------
def test_an_empty_sqlite_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")  # writes a header, and nothing else
    conn.close()
    assert path.stat().st_size > 0
    with Store(path) as store:
        store.save(make_record())
        assert store.count() == 1


def test_a_file_claimed_by_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 42")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a cnnbench store"):
        Store(path)
    assert path.read_bytes() == before


def test_a_path_the_file_system_refuses_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot use store path"):
        Store(tmp_path / ("x" * 300 + ".db"))


def _hold_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def test_a_creator_waits_for_another_writer_then_creates(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 0.5, started))
    holder.start()
    started.wait(5)
    t0 = time.monotonic()
    with Store(path) as store:
        waited = time.monotonic() - t0
        store.save(make_record())
        assert store.count() == 1
    holder.join()
    assert waited >= 0.3


def test_a_lock_held_past_the_timeout_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "new.db"
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.5, started))
    holder.start()
    started.wait(5)
    with pytest.raises(StoreError, match="locked by another process"):
        Store(path)
    holder.join()
    with Store(path) as store:  # free again: created as usual
        assert store.count() == 0


def test_latency_stats_of_the_worker_are_storable(tmp_path: Path) -> None:
    """The checks are no stricter than what the worker writes: a one-sample record stores."""
    rec = make_record()
    one = LatencyStats(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, (1.0, 1.0), 1)
    with Store(tmp_path / "s.db") as store:
        store.save(replace(rec, latency_ms=one, samples_ms=(1.0,)))
        assert store.get(rec.id).latency_ms == one
