"""The SQLite result store: one file (default ``./cnnbench.db``), WAL, a versioned schema.

Tables: ``machines`` (one fingerprint per machine), ``runs`` (one row per result record, keyed by
a hash of the spec and the machine so a sweep can skip what is done; the whole record is kept as
JSON beside indexed columns), ``samples`` (raw series as little-endian float64 blobs, so every
summary can be recomputed). Each record is written in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.errors import StoreError
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


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction (``BEGIN IMMEDIATE``): committed when the block ends, rolled back
    when it raises (anything, ``KeyboardInterrupt`` included), so no partial rows remain."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Store:
    """A cnnbench result store. Opening validates the file; nothing is written until asked."""

    def __init__(self, path: str | Path | None = None, *, create: bool = True):
        self.path = Path(path) if path is not None else default_path()
        self._conn = self._open(create)

    # -- opening ---------------------------------------------------------------------------
    def _open(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if path.is_dir():
            raise StoreError(f"store path {path} is a directory")
        exists = path.exists()
        if not exists:
            if not create:
                raise StoreError(f"no store at {path}")
            parent = path.parent if str(path.parent) else Path(".")
            if not parent.is_dir():
                raise StoreError(f"cannot create store {path}: folder {parent} does not exist")
            if not os.access(parent, os.W_OK):
                raise StoreError(f"cannot create store {path}: folder {parent} is not writable")
        elif not os.access(path, os.W_OK):
            raise StoreError(f"store {path} is not writable")
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if exists and tables and app_id != APPLICATION_ID:
                conn.close()
                raise StoreError(f"{path} is an SQLite file but not a cnnbench store")
            if exists and path.stat().st_size > 0 and not tables and app_id != APPLICATION_ID:
                conn.close()
                raise StoreError(f"{path} is not a cnnbench store")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {path} is unreadable or corrupted ({exc})") from None
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema {version}; "
                f"this cnnbench reads up to {SCHEMA_VERSION}"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with transaction(conn):
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(target),)
                )
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {target}")

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
        """Write records in one transaction; all or nothing. Returns how many were new."""
        written = 0
        with self.transaction() as conn:
            for rec in records:
                if (
                    skip_existing
                    and conn.execute("SELECT 1 FROM runs WHERE id = ?", (rec.id,)).fetchone()
                ):
                    continue
                self._insert(rec)
                written += 1
        return written

    def _insert(self, rec: ResultRecord) -> None:
        conn = self._conn
        m = rec.machine
        conn.execute(
            "INSERT OR IGNORE INTO machines VALUES (?, ?, ?)",
            (m["id"], json.dumps(m, sort_keys=True), rec.created),
        )
        spec = rec.spec
        lat = rec.latency_ms
        conn.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rec.id,
                rec.key,
                rec.spec_hash,
                m["id"],
                rec.created,
                rec.status,
                spec.model.name,
                spec.target.engine,
                spec.target.device,
                spec.target.precision,
                spec.batch,
                spec.target.threads,
                spec.mode,
                lat.median if lat else None,
                lat.mean if lat else None,
                rec.throughput_ips,
                json.dumps(rec.to_json(samples=False), sort_keys=True, allow_nan=False),
            ),
        )
        if rec.samples_ms:
            data = np.asarray(rec.samples_ms, dtype="<f8").tobytes()
            conn.execute(
                "INSERT INTO samples VALUES (?, 'latency', 'ms', ?, ?)",
                (rec.id, len(rec.samples_ms), data),
            )

    # -- reading ---------------------------------------------------------------------------
    def _record(self, row_json: str, run_id: str, samples: bool) -> ResultRecord:
        d = json.loads(row_json)
        if samples:
            got = self._conn.execute(
                "SELECT data FROM samples WHERE run_id = ? AND series = 'latency'", (run_id,)
            ).fetchone()
            d["samples_ms"] = np.frombuffer(got[0], dtype="<f8").tolist() if got else []
        return ResultRecord.from_json(d)

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
        """The record whose id is ``run_id`` or starts with it (unique prefix)."""
        rows = self._conn.execute(
            "SELECT id, record FROM runs WHERE id LIKE ? LIMIT 2", (run_id.replace("%", "") + "%",)
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
        """Replace this machine's peaks (one transaction)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO machines VALUES (?, ?, ?)",
                (machine["id"], json.dumps(machine, sort_keys=True), created),
            )
            for p in peaks:
                conn.execute(
                    "INSERT OR REPLACE INTO peaks VALUES (?,?,?,?,?,?,?,?)",
                    (
                        machine["id"],
                        p["kind"],
                        p["precision"],
                        p["value"],
                        p["unit"],
                        p["threads"],
                        p["method"],
                        created,
                    ),
                )

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
