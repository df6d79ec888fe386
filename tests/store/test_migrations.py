"""Schema migration: a version-1 store gains the peaks table and keeps its runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cnnbench.store._schema import SCHEMA_V1
from cnnbench.store.sqlite import Store
from records import PEAKS


def test_v1_store_migrates_to_v2_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("PRAGMA application_id = 1668181602")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO machines VALUES ('m1', '{\"id\": \"m1\"}', '2026-01-01T00:00:00')")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert store.machines() == [{"id": "m1"}]
        store.save_peaks({"id": "m1"}, PEAKS, "2026-01-02T00:00:00")
        assert [p["kind"] for p in store.peaks("m1")] == ["compute", "memory"]
        assert store.peaks("other") == []


def test_new_peaks_replace_all_old_ones(tmp_path: Path) -> None:
    bf16 = {**PEAKS[0], "precision": "bf16", "value": 300.0}
    with Store(tmp_path / "p.db") as store:
        store.save_peaks({"id": "m1"}, [*PEAKS, bf16], "2026-01-01T00:00:00")
        store.save_peaks({"id": "m1"}, PEAKS, "2026-01-02T00:00:00")  # bf16 no longer measured
        assert sorted(p["precision"] for p in store.peaks("m1")) == ["-", "fp32"]


def test_v2_store_gains_the_layers_table(tmp_path: Path) -> None:
    from cnnbench.store._schema import SCHEMA_V2
    from records import make_profile_record

    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1 + SCHEMA_V2)
    conn.execute("PRAGMA application_id = 1668181602")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    rec = make_profile_record()
    with Store(path) as store:
        store.save(rec)
        assert store.get(rec.id).layers == rec.layers
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
