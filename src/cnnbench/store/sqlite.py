"""The SQLite result store: one file (default ``./cnnbench.db``), WAL, a versioned schema.

Tables: ``machines`` (one fingerprint per machine), ``runs`` (one row per result record, keyed by
a hash of the spec and the machine so a sweep can skip what is done; the whole record is kept as
JSON beside indexed columns), ``samples`` (raw series as little-endian float64 blobs, so every
summary can be recomputed). Each record is written in one transaction.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.errors import BadInput, StoreError
from cnnbench.results._json import Fields
from cnnbench.results._json import dumps as strict_dumps
from cnnbench.results.record import ResultRecord

DEFAULT_DB = "cnnbench.db"
SCHEMA_VERSION = 2
APPLICATION_ID = 0x636E6E62  # "cnnb": marks the file as a cnnbench store
KEYS_PER_QUERY = 500  # bound variables per query, well under SQLite's limit

SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE machines (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    machine_id TEXT NOT NULL REFERENCES machines(id),
    created TEXT NOT NULL,
    status TEXT NOT NULL,
    model TEXT NOT NULL,
    engine TEXT NOT NULL,
    device TEXT NOT NULL,
    precision TEXT NOT NULL,
    batch INTEGER NOT NULL,
    threads INTEGER,
    mode TEXT NOT NULL,
    median_ms REAL,
    mean_ms REAL,
    throughput_ips REAL,
    record TEXT NOT NULL
);
CREATE INDEX runs_key ON runs(key);
CREATE INDEX runs_model_engine ON runs(model, engine);
CREATE TABLE samples (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    series TEXT NOT NULL,
    unit TEXT NOT NULL,
    n INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, series)
);
"""

SCHEMA_V2 = """
CREATE TABLE peaks (
    machine_id TEXT NOT NULL REFERENCES machines(id),
    kind TEXT NOT NULL,
    precision TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    threads INTEGER NOT NULL,
    method TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (machine_id, kind, precision)
);
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2}


def default_path() -> Path:
    return Path(os.environ.get("CNNBENCH_DB") or DEFAULT_DB)


BUSY_TIMEOUT_S = 30.0  # how long an opener or writer waits for another process's write lock


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE``: it takes the write lock first, waiting up to
    the busy timeout for another writer): committed when the block ends, rolled back when it
    or the commit raises (anything, ``KeyboardInterrupt`` included), so no partial rows remain
    and the connection is never left inside a transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (a full disk, an I/O error)
            with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                conn.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class _State:
    """What an SQLite file says about itself, read in one transaction (one snapshot)."""

    application_id: int
    version: int
    objects: int  # tables, indexes, views and triggers

    @property
    def empty(self) -> bool:
        """A new file, or an SQLite file that holds nothing and claims no application."""
        return (
            self.objects == 0 and self.version == 0 and self.application_id in (0, APPLICATION_ID)
        )


def _read_state(conn: sqlite3.Connection) -> _State:
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    objects = int(conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])
    return _State(app_id, version, objects)


def _busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock we need."""
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)


@dataclass(frozen=True)
class _Rows:
    """One record as the rows it becomes: built and checked before any transaction begins."""

    run_id: str
    machine: tuple[str, str, str]
    run: tuple[object, ...]
    samples: tuple[str, int, bytes] | None


def _rows(rec: ResultRecord) -> _Rows:
    """The rows of ``rec``, or a :class:`StoreError` saying why it cannot be stored: a record
    that is not strict JSON (NaN, a value JSON cannot hold), an integer SQLite cannot store, or
    a record this store could not read back (so ``results show`` always works)."""
    try:
        doc = rec.to_json(samples=False)
        text = strict_dumps(doc)  # finite numbers, 64-bit integers, bounded nesting
        data = np.asarray(rec.samples_ms, dtype="<f8")
        if not np.isfinite(data).all():
            raise BadInput("samples_ms must be finite numbers")
        back = ResultRecord.from_json(json.loads(text))  # what the store reads, checked
        machine = strict_dumps(rec.machine)
    except BadInput as exc:
        raise StoreError(f"record {rec.id} cannot be stored: {exc}") from None
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise StoreError(f"record {rec.id} cannot be stored: {exc!r:.200}") from None
    spec, lat, machine_id = back.spec, back.latency_ms, str(back.machine["id"])
    samples = ("latency", data.size, data.tobytes()) if data.size else None
    return _Rows(
        run_id=back.id,
        machine=(machine_id, machine, back.created),
        run=(
            back.id,
            back.key,
            back.spec_hash,
            machine_id,
            back.created,
            back.status,
            spec.model.name,
            spec.target.engine,
            spec.target.device,
            spec.target.precision,
            spec.batch,
            spec.target.threads,
            spec.mode,
            lat.median if lat else None,
            lat.mean if lat else None,
            back.throughput_ips,
            text,
        ),
        samples=samples,
    )


def _peak_rows(
    machine: dict[str, Any], peaks: list[dict[str, Any]], created: str
) -> tuple[tuple[str, str, str], list[tuple[object, ...]]]:
    """The machine row and peak rows of :meth:`Store.save_peaks`, checked before writing."""
    try:
        machine_id = machine.get("id")
        if not isinstance(machine_id, str) or not machine_id:
            raise BadInput(f"the machine id must be a non-empty string, got {machine_id!r:.40}")
        fingerprint = strict_dumps(machine)
        rows: list[tuple[object, ...]] = []
        for i, p in enumerate(peaks):
            f = Fields(p, f"peaks[{i}]")
            rows.append(
                (
                    machine_id,
                    f.string("kind"),
                    f.string("precision"),
                    f.number("value"),
                    f.string("unit"),
                    f.integer("threads", minimum=1),
                    f.string("method"),
                    created,
                )
            )
    except BadInput as exc:
        raise StoreError(f"peaks cannot be stored: {exc}") from None
    except (TypeError, AttributeError) as exc:
        raise StoreError(f"peaks cannot be stored: {exc!r:.200}") from None
    return (machine_id, fingerprint, created), rows


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

    # -- reading ---------------------------------------------------------------------------
    def _record(self, row_json: str, run_id: str, samples: bool) -> ResultRecord:
        """The record of one row; a row this version cannot read (written by an older one
        with laxer checks) is a :class:`StoreError` naming the run, not a traceback."""
        try:
            d = json.loads(row_json)
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

    def done_keys(self) -> set[str]:
        """Keys with an ok run: what a resumed sweep skips."""
        return {r[0] for r in self._conn.execute("SELECT DISTINCT key FROM runs WHERE status='ok'")}

    def ok_run_ids(self, keys: Iterable[str]) -> dict[str, str]:
        """For each of ``keys`` that has an ok run: the id of its newest ok run (for resume)."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, str] = {}
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            chunk = wanted[start : start + KEYS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT key, id FROM runs WHERE status = 'ok' AND key IN ({marks}) "
                "ORDER BY created, rowid",
                chunk,
            )
            out.update(rows)  # oldest first: the newest run of a key is written last
        return out

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
