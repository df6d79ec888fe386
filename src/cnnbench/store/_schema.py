"""The store's schema and migrations, the marks read from a file, the transaction helper."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

SCHEMA_VERSION = 3
APPLICATION_ID = 0x636E6E62  # "cnnb": marks the file as a cnnbench store

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

# One row per executed layer of a profile, linked to its run; the run's JSON record holds no
# copy (the store puts the layers back into it when it reads the run).
SCHEMA_V3 = """
CREATE TABLE layers (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    layer_type TEXT NOT NULL,
    time_ms REAL,
    calls INTEGER,
    kernel TEXT,
    macs INTEGER,
    flops INTEGER,
    bytes INTEGER,
    energy_j REAL,
    source_layers TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX layers_type ON layers(layer_type);
"""

MIGRATIONS: dict[int, str] = {1: SCHEMA_V1, 2: SCHEMA_V2, 3: SCHEMA_V3}


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
