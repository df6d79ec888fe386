"""The store's one transaction helper, and the resume lookup of ok runs by key."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cnnbench.store.sqlite import Store, transaction
from records import make_record


def test_a_block_that_raises_leaves_no_partial_rows(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.save(make_record(seed=1))
        with pytest.raises(RuntimeError, match="midway"), store.transaction() as conn:
            conn.execute("INSERT INTO machines VALUES ('m2', '{}', 'now')")
            store._insert(make_record(seed=2))
            raise RuntimeError("midway")
        assert store.count() == 1
        assert [m["id"] for m in store.machines()] == ["m0000000000000001"]
        # The connection is usable again: the failed transaction is closed.
        store.save(make_record(seed=3))
        assert store.count() == 2


def test_a_block_that_ends_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store, store.transaction() as conn:
        conn.execute("INSERT INTO machines VALUES ('m2', '{}', 'now')")
    other = sqlite3.connect(path)
    assert other.execute("SELECT id FROM machines").fetchall() == [("m2",)]


def test_interrupt_rolls_back_too(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "plain.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(KeyboardInterrupt), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise KeyboardInterrupt
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)
    assert not conn.in_transaction


def test_ok_run_ids_gives_the_newest_ok_run_per_key(tmp_path: Path) -> None:
    old = make_record("tinynet", seed=1)
    new = make_record("tinynet", seed=2)
    failed = make_record("resnet18", status="crashed")
    with Store(tmp_path / "s.db") as store:
        store.save(old)
        store.save(new)
        store.save(failed)
        assert old.key == new.key
        assert store.ok_run_ids([old.key, failed.key, "nope"]) == {old.key: new.id}
        assert store.ok_run_ids([]) == {}
        many = [f"k{i}" for i in range(1200)] + [old.key]  # more keys than one query binds
        assert store.ok_run_ids(iter(many)) == {old.key: new.id}


def test_a_commit_that_fails_rolls_back_and_closes_the_transaction(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as conn:
            conn.execute("PRAGMA defer_foreign_keys = ON")  # the check moves to COMMIT
            store._insert(make_record(seed=1))
            conn.execute("INSERT INTO samples VALUES ('no-such-run', 'x', 'ms', 0, x'')")
        assert not store._conn.in_transaction
        assert store.count() == 0
        store.save(make_record(seed=2))  # usable again
        assert store.count() == 1
