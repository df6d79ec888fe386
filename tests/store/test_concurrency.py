"""Creating one new store from several processes at once: every creator waits for the first and
then sees a complete store; nothing is lost, nothing is written twice, the file is sound.

The processes are released together (a barrier, or a start file for the CLI) so that every
repetition races on the creation itself, not on Python's start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import time
import traceback
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path

from cnnbench.results.exchange import write_jsonl
from cnnbench.store.sqlite import Store
from records import make_record

PROCESSES = 6
REPETITIONS = 50
RECORDS_EACH = 2
CLI_REPETITIONS = 12


def _creator(index: int, folder: str, barrier: Barrier, out: Connection) -> None:
    """One process: in each repetition, open (create) the new store and write its records."""
    for rep in range(REPETITIONS):
        records = [make_record(seed=1000 * rep + 10 * index + k) for k in range(RECORDS_EACH)]
        barrier.wait()
        try:
            with Store(Path(folder) / f"r{rep}.db") as store:
                store.save_many(records)
            out.send((rep, "ok", [r.id for r in records]))
        except BaseException:  # reported to the parent, which fails the test
            out.send((rep, traceback.format_exc(limit=3), []))
    out.close()


def _check_store(path: Path, expected_ids: list[str]) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = [row[0] for row in conn.execute("SELECT id FROM runs")]
    finally:
        conn.close()
    assert sorted(ids) == sorted(expected_ids)  # every record, each once
    with Store(path, create=False) as store:
        assert sorted(r.id for r in store.iter_all()) == sorted(expected_ids)


def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # the test process has no threads and no store open
    barrier = ctx.Barrier(PROCESSES)
    pipes, procs = [], []
    for i in range(PROCESSES):
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_creator, args=(i, str(tmp_path), barrier, send), daemon=True)
        proc.start()
        send.close()
        pipes.append(receive)
        procs.append(proc)
    results: dict[int, list[tuple[str, list[str]]]] = {rep: [] for rep in range(REPETITIONS)}
    try:
        for receive in pipes:
            for _ in range(REPETITIONS):
                if not receive.poll(60):
                    raise AssertionError("a creator stopped answering")
                rep, outcome, ids = receive.recv()
                results[rep].append((outcome, ids))
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    failures = [out for rep in results.values() for out, _ in rep if out != "ok"]
    assert not failures, f"{len(failures)} of {PROCESSES * REPETITIONS} failed:\n{failures[0]}"
    for rep, outcomes in results.items():
        _check_store(tmp_path / f"r{rep}.db", [i for _, ids in outcomes for i in ids])


CLI_CHILD = """
import os, runpy, sys, time
import cnnbench.cli.main, cnnbench.store.sqlite, cnnbench.results.exchange
start, ready = sys.argv[1], sys.argv[2]
open(ready, "w").close()
while not os.path.exists(start):
    time.sleep(0.0005)
sys.argv = ["cnnbench", *sys.argv[3:]]
runpy.run_module("cnnbench", run_name="__main__", alter_sys=True)
"""


def _import(path: Path, db: Path) -> list[str]:
    return ["results", "import", str(path), "--db", str(db)]


def test_two_cli_imports_into_one_new_store_at_once(tmp_path: Path) -> None:
    """``python -m cnnbench results import F --db D`` twice at once, released together."""
    files = []
    for i in range(2):
        records = [make_record(seed=100 * i + k) for k in range(3)]
        path = tmp_path / f"in{i}.jsonl"
        with path.open("w") as fh:
            write_jsonl(records, fh)
        files.append((path, [r.id for r in records]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    failures: list[str] = []
    for rep in range(CLI_REPETITIONS):
        db, start = tmp_path / f"r{rep}.db", tmp_path / f"go{rep}"
        ready = [tmp_path / f"ready{rep}-{i}" for i in range(len(files))]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CLI_CHILD, str(start), str(ready[i]), *_import(f, db)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i, (f, _) in enumerate(files)
        ]
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.002)  # both have imported cnnbench and wait for the start file
        start.touch()
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            if proc.returncode != 0 or "imported 3 record(s)" not in err or "Traceback" in err:
                failures.append(f"repetition {rep}: exit {proc.returncode}: {err.strip()}")
        if not failures:
            _check_store(db, [i for _, ids in files for i in ids])
    assert not failures, f"{len(failures)} of {2 * CLI_REPETITIONS} imports failed: {failures}"
