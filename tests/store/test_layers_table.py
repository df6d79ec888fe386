"""The layers table: a profile's layers stored as rows linked to their run, read back whole."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

from cnnbench.results.exchange import read_jsonl, write_jsonl
from cnnbench.store.sqlite import Store
from records import make_profile_record, make_record


def test_layers_are_rows_of_their_run_and_come_back_in_the_record(tmp_path: Path) -> None:
    rec = make_profile_record()
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.save_many([rec, make_record(seed=3)])
        back = store.get(rec.id)
    assert back == rec  # layers (order, types, costs) and the profile section
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT position, name, layer_type, flops, source_layers FROM layers WHERE run_id = ? "
        "ORDER BY position",
        (rec.id,),
    ).fetchall()
    assert [r[1] for r in rows] == ["conv1", "pool", "reorder"]
    assert rows[0][2] == "fused(conv+activation)" and rows[2][3] is None
    assert json.loads(rows[0][4]) == ["/c/Conv", "/r/Relu"]
    (text,) = conn.execute("SELECT record FROM runs WHERE id = ?", (rec.id,)).fetchone()
    assert '"layers"' not in text  # one copy: the table
    assert conn.execute("SELECT COUNT(*) FROM layers").fetchone()[0] == 3  # the other run: none
    # SQL over layers works across runs: time by type, joined to the run's engine
    by_type = conn.execute(
        "SELECT r.engine, l.layer_type, SUM(l.time_ms) FROM layers l JOIN runs r "
        "ON r.id = l.run_id GROUP BY 1, 2 ORDER BY 3 DESC"
    ).fetchall()
    assert by_type[0][:2] == ("openvino", "fused(conv+activation)")
    conn.close()


def test_deleting_a_run_deletes_its_layers(tmp_path: Path) -> None:
    rec = make_profile_record()
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.save(rec)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("DELETE FROM runs WHERE id = ?", (rec.id,))
    conn.commit()
    assert conn.execute("SELECT COUNT(*) FROM layers").fetchone()[0] == 0
    conn.close()


def test_export_and_import_keep_the_layers(tmp_path: Path) -> None:
    rec = make_profile_record(seed=1)
    with Store(tmp_path / "a.db") as store:
        store.save(rec)
        buf = io.StringIO()
        write_jsonl(store.iter_all(), buf)
    path = tmp_path / "out.jsonl"
    path.write_text(buf.getvalue())
    (back,) = read_jsonl(path)
    assert back.layers == rec.layers and back.profile == rec.profile
    with Store(tmp_path / "b.db") as other:
        assert other.save_many([back], skip_existing=True) == 1
        assert other.get(rec.id) == rec
