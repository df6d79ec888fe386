"""The SQLite result store: one file (default ``./cnnbench.db``), WAL, a versioned schema.

Tables: ``machines`` (one fingerprint per machine), ``runs`` (one row per result record, keyed by
a hash of the spec and the machine so a sweep can skip what is done; the whole record is kept as
JSON beside indexed columns), ``samples`` (raw series as little-endian float64 blobs, so every
summary can be recomputed), ``layers`` (one row per executed layer of a profile, linked to its
run; the run's JSON holds no copy, reading a run puts them back), ``peaks``.
Each record is written in one transaction.

Several processes may open, create and write one file at once. Opening reads the file's marks
(``application_id``, ``user_version``, its tables) in one snapshot; a new or older file gets its
schema under the write lock (``BEGIN IMMEDIATE``, waiting up to :data:`BUSY_TIMEOUT_S`) after
the marks are read again, so a second creator waits for the first and then finds a complete
store. WAL is switched on after that, outside any transaction. A file that is not a cnnbench
store (another application's, a newer schema, not SQLite at all) is one :class:`StoreError`.

Writes are all or nothing, and nothing is written for a record that could not be kept: every
record is turned into rows first (strict JSON, integers within 64 bits, and a record this store
can read back), so one bad record fails before its transaction begins.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.errors import BadInput, StoreError
from cnnbench.results.record import ResultRecord
from cnnbench.store._rows import LAYER_COLUMNS, _peak_rows, _Rows, _rows, layer_json
from cnnbench.store._schema import (
    APPLICATION_ID,
    BUSY_TIMEOUT_S,
    MIGRATIONS,
    SCHEMA_VERSION,
    _busy,
    _read_state,
    _State,
    transaction,
)

DEFAULT_DB = "cnnbench.db"
KEYS_PER_QUERY = 500  # bound variables per query, well under SQLite's limit


def default_path() -> Path:
    return Path(os.environ.get("CNNBENCH_DB") or DEFAULT_DB)


class Store:
    """A cnnbench result store. Opening validates the file; nothing is written until asked,
    except the schema of a new (or older) store."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True):
        self.path = Path(path) if path is not None else default_path()
        self._conn = self._open(create)

    # -- opening ---------------------------------------------------------------------------
    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        try:
            self._check_location(create)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except OSError as exc:  # a name too long for the file system, a loop of links
            raise StoreError(f"cannot use store path {path}: {exc.strerror or exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {path} ({exc})") from None
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.005
        try:
            while True:
                try:
                    self._prepare(conn)
                    return conn
                except sqlite3.OperationalError as exc:
                    # Busy beyond what the busy handler covers (a WAL file being set up or
                    # removed by another process): every step is idempotent, so try again.
                    if not _busy(exc) or time.monotonic() > deadline:
                        raise
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and _busy(exc):
                raise StoreError(
                    f"store {path} stayed locked by another process for {BUSY_TIMEOUT_S:g} s"
                ) from None
            raise StoreError(f"store {path} is unreadable or corrupted ({exc})") from None
        except BaseException:
            conn.close()
            raise

    def _check_location(self, create: bool) -> None:
        path = self.path
        if path.is_dir():
            raise StoreError(f"store path {path} is a directory")
        if not path.exists():
            if not create:
                raise StoreError(f"no store at {path}")
            parent = path.parent if str(path.parent) else Path(".")
            if not parent.is_dir():
                raise StoreError(f"cannot create store {path}: folder {parent} does not exist")
            if not os.access(parent, os.W_OK):
                raise StoreError(f"cannot create store {path}: folder {parent} is not writable")
        elif not os.access(path, os.W_OK):
            raise StoreError(f"store {path} is not writable")

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the file and bring it to this schema, safe against other processes doing the
        same at once: the check is read in one snapshot, and creation or migration happens
        under the write lock after checking again, so a second creator waits for the first and
        then finds a complete store. WAL is switched on afterwards, outside any transaction."""
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")  # deferred: one read snapshot, no write lock
        try:
            state = _read_state(conn)
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        if self._needs_schema(state):
            with transaction(conn):  # the write lock; another creator may have finished first
                state = _read_state(conn)
                if self._needs_schema(state):
                    self._migrate(conn, state.version)
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise StoreError(f"store {self.path} is corrupted ({check})")

    def _needs_schema(self, state: _State) -> bool:
        """True when the file is empty or an older store; a :class:`StoreError` when it is not
        a cnnbench store or a newer one."""
        if state.empty:
            return True
        if state.application_id != APPLICATION_ID:
            raise StoreError(f"{self.path} is an SQLite file but not a cnnbench store")
        if state.version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema {state.version}; "
                f"this cnnbench reads up to {SCHEMA_VERSION}"
            )
        return state.version < SCHEMA_VERSION

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        """From ``version`` to :data:`SCHEMA_VERSION`, inside the caller's transaction."""
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(target),))
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction on this store (see :func:`transaction`)."""
        return transaction(self._conn)

    def save(self, record: ResultRecord) -> None:
        """Write one record (machine, run, raw samples) in one transaction."""
        self.save_many([record])

    def save_many(self, records: Iterable[ResultRecord], *, skip_existing: bool = False) -> int:
        """Write records in one transaction; all or nothing. Every record is turned into rows
        and checked first, so one that cannot be stored is a :class:`StoreError` before the
        transaction begins. Returns how many were new."""
        rows = [_rows(rec) for rec in records]
        written = 0
        with self.transaction() as conn:
            for r in rows:
                if (
                    skip_existing
                    and conn.execute("SELECT 1 FROM runs WHERE id = ?", (r.run_id,)).fetchone()
                ):
                    continue
                self._write(r)
                written += 1
        return written

    def _insert(self, rec: ResultRecord) -> None:
        """Write one record inside the caller's transaction."""
        self._write(_rows(rec))

    def _write(self, r: _Rows) -> None:
        conn = self._conn
        conn.execute("INSERT OR IGNORE INTO machines VALUES (?, ?, ?)", r.machine)
        conn.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", r.run)
        if r.samples is not None:
            conn.execute("INSERT INTO samples VALUES (?, ?, 'ms', ?, ?)", (r.run_id, *r.samples))
        if r.layers:
            conn.executemany("INSERT INTO layers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", r.layers)

    # -- reading ---------------------------------------------------------------------------
    def _record(self, row_json: str, run_id: str, samples: bool) -> ResultRecord:
        """The record of one row; a row this version cannot read (written by an older one
        with laxer checks) is a :class:`StoreError` naming the run, not a traceback."""
        try:
            d = json.loads(row_json)
            layers = self._conn.execute(
                f"SELECT {', '.join(LAYER_COLUMNS)} FROM layers WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
            if layers:
                d["layers"] = [layer_json(row) for row in layers]
            if samples:
                got = self._conn.execute(
                    "SELECT data FROM samples WHERE run_id = ? AND series = 'latency'", (run_id,)
                ).fetchone()
                d["samples_ms"] = np.frombuffer(got[0], dtype="<f8").tolist() if got else []
            return ResultRecord.from_json(d)
        except BadInput as exc:
            raise StoreError(f"run {run_id} in {self.path} cannot be read: {exc}") from None
        except (ValueError, TypeError, RecursionError) as exc:
            raise StoreError(f"run {run_id} in {self.path} cannot be read ({exc!r:.120})") from None

    def query(
        self,
        *,
        model: str | None = None,
        engine: str | None = None,
        status: str | None = None,
        mode: str | None = None,
        limit: int | None = None,
        samples: bool = False,
    ) -> list[ResultRecord]:
        """Records, newest first, filtered by the given columns."""
        where, args = [], []
        for column, value in (
            ("model", model),
            ("engine", engine),
            ("status", status),
            ("mode", mode),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT id, record FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._conn.execute(sql, args).fetchall()
        return [self._record(rec, rid, samples) for rid, rec in rows]

    def get(self, run_id: str, *, samples: bool = True) -> ResultRecord:
        """The record whose id is ``run_id`` or starts with it (unique prefix; exact and case
        sensitive, no wildcards)."""
        rows = self._conn.execute("SELECT id, record FROM runs WHERE id = ?", (run_id,)).fetchall()
        if not rows and run_id:
            rows = self._conn.execute(
                "SELECT id, record FROM runs WHERE substr(id, 1, ?) = ? LIMIT 2",
                (len(run_id), run_id),
            ).fetchall()
        if not rows:
            raise StoreError(f"no run with id {run_id!r} in {self.path}")
        if len(rows) > 1:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        return self._record(rows[0][1], rows[0][0], samples)

    def ok_run_ids(self, keys: Iterable[str]) -> dict[str, str]:
        """For each of ``keys`` that has an ok run: the id of its newest ok run (for resume)."""
        # oldest first: the newest run of a key is written last
        return dict(self._ok_rows("key, id", "ORDER BY created, rowid", keys))

    def ok_run_counts(self, keys: Iterable[str]) -> dict[str, int]:
        """For each of ``keys`` that has an ok run: how many (repeated measurements)."""
        return {k: int(n) for k, n in self._ok_rows("key, COUNT(*)", "GROUP BY key", keys)}

    def _ok_rows(self, columns: str, tail: str, keys: Iterable[str]) -> Iterator[Any]:
        """``SELECT columns`` of the ok runs of ``keys``, in chunks of :data:`KEYS_PER_QUERY`."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            chunk = wanted[start : start + KEYS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            yield from self._conn.execute(
                f"SELECT {columns} FROM runs WHERE status = 'ok' AND key IN ({marks}) {tail}",
                chunk,
            )

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def iter_all(self, *, samples: bool = True) -> Iterator[ResultRecord]:
        for rid, rec in self._conn.execute("SELECT id, record FROM runs ORDER BY created, rowid"):
            yield self._record(rec, rid, samples)

    def save_peaks(
        self, machine: dict[str, Any], peaks: list[dict[str, Any]], created: str
    ) -> None:
        """Replace this machine's peaks (one transaction; every row checked before it)."""
        machine_row, rows = _peak_rows(machine, peaks, created)
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO machines VALUES (?, ?, ?)", machine_row)
            # Replace, not merge: a precision no longer measured must not survive.
            conn.execute("DELETE FROM peaks WHERE machine_id = ?", (machine_row[0],))
            conn.executemany("INSERT OR REPLACE INTO peaks VALUES (?,?,?,?,?,?,?,?)", rows)

    def peaks(self, machine_id: str) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT kind, precision, value, unit, threads, method, created FROM peaks "
            "WHERE machine_id = ? ORDER BY kind, precision",
            (machine_id,),
        ).fetchall()
        keys = ("kind", "precision", "value", "unit", "threads", "method", "created")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def machines(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._conn.execute("SELECT fingerprint FROM machines")]
