"""Every kind of bad input, across every subcommand, answered the same way.

The house rule: exit code 2, exactly one line on stderr starting ``cnnbench: error:``, no
traceback, stdout empty (or pure JSON where ``--json -`` applies), the store's row count
unchanged, and no store file created where none existed. Nothing here may start a measurement:
every case is refused before a measuring worker starts.

Each case runs in-process through :func:`cnnbench.cli.main.main` twice, with a store holding two
records and with no store at all; a few also run as a real program to prove that no traceback
reaches the terminal.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cnnbench.cli.main import main
from cnnbench.engines.base import Engine, register_engine, unregister_engine
from cnnbench.spec import (
    BATCH,
    BUDGET_S,
    LIST_LIMIT,
    MIN_SAMPLES,
    ROUNDS,
    STREAMS,
    THREADS,
    TIMEOUT_S,
)
from records import make_record

LONG = "x" * 300  # longer than any file system's name limit (255 bytes)
HUGE = "99999999999999999999"  # beyond 64 bits


@dataclass(frozen=True)
class Case:
    """One bad command line: ``argv`` with placeholders, and what its one line must say.

    ``expect`` holds alternatives separated by ``|`` (one of them must appear in the line);
    ``setups`` says with which store the case runs; ``xfail`` names whose area still fails it;
    ``worker`` allows a model-resolution worker (never a measuring one) to start.
    """

    id: str
    argv: tuple[str, ...]
    expect: str
    setups: tuple[str, ...] = ("store", "nostore")
    xfail: str | None = None
    worker: bool = False


def c(
    id: str,
    *argv: str,
    expect: str,
    setups: tuple[str, ...] = ("store", "nostore"),
    xfail: str | None = None,
    worker: bool = False,
) -> Case:
    return Case(id, argv, expect, setups, xfail, worker)


RUN = ("run", "tinynet")
LIST = ("results", "list")
EXPORT = ("results", "export")
IMPORT = ("results", "import")


def _numeric_cases() -> list[Case]:
    """Every numeric flag: zero, negative, non-numbers, beyond 64 bits, beyond the range."""
    out: list[Case] = []
    ints = {
        "--batch": BATCH,
        "--max-batch": BATCH,
        "--threads": THREADS,
        "--streams": STREAMS,
        "--min-samples": MIN_SAMPLES,
        "--rounds": ROUNDS,
    }
    for flag, limits in ints.items():
        name = flag.lstrip("-")
        for label, value in (
            ("zero", "0"),
            ("negative", "-1"),
            ("huge", HUGE),
            ("above", str(limits.hi + 1)),
            ("fraction", "1.5"),
            ("word", "two"),
            ("empty", ""),
            ("inf", "inf"),
        ):
            out.append(c(f"run-{name}-{label}", *RUN, f"{flag}={value}", expect=f"{flag}"))
    floats = {"--budget": BUDGET_S, "--timeout": TIMEOUT_S}
    for flag, span in floats.items():
        name = flag.lstrip("-")
        for label, value in (
            ("zero", "0"),
            ("negative", "-1"),
            ("inf", "inf"),
            ("minus-inf", "-inf"),
            ("nan", "nan"),
            ("overflow", "1e999"),
            ("above", str(span.hi * 2)),
            ("word", "soon"),
            ("empty", ""),
        ):
            out.append(c(f"run-{name}-{label}", *RUN, f"{flag}={value}", expect=f"{flag}"))
    for label, value in (
        ("zero", "0"),
        ("one", "1"),
        ("above-one", "1.5"),
        ("negative", "-0.1"),
        ("nan", "nan"),
        ("inf", "inf"),
        ("empty", ""),
    ):
        out.append(c(f"run-ci-{label}", *RUN, f"--ci={value}", expect="--ci"))
    for label, value in (
        ("zero", "0"),
        ("negative", "-5"),
        ("huge", HUGE),
        ("above", str(LIST_LIMIT.hi + 1)),
        ("word", "all"),
    ):
        out.append(c(f"list-limit-{label}", *LIST, f"--limit={value}", expect="--limit"))
    return out


CASES: list[Case] = [
    # -- the command line itself ---------------------------------------------------------------
    c("no-command", expect="required: command"),
    c("unknown-command", "frobnicate", expect="invalid choice"),
    c("unknown-global-flag", "--frobnicate", "engines", expect="unrecognized arguments"),
    c("results-no-action", "results", expect="required: action"),
    c("results-unknown-action", "results", "frob", expect="invalid choice"),
    c("run-no-model", "run", expect="required: MODEL"),
    c("info-unknown-flag", "info", "--bogus", expect="unrecognized arguments"),
    c("engines-extra-word", "engines", "extra", expect="unrecognized arguments"),
    c("models-detail-no-value", "models", "--detail", expect="expected one argument"),
    c("show-no-id", "results", "show", expect="required: id"),
    c("import-no-file", *IMPORT, expect="required: file"),
    c("run-precision-unknown", *RUN, "--precision", "fp8", expect="invalid choice"),
    c("list-status-unknown", *LIST, "--status", "great", expect="invalid choice"),
    c("run-batch-no-value", *RUN, "--batch", expect="expected one argument"),
    # -- numbers ---------------------------------------------------------------------------------
    *_numeric_cases(),
    # -- empty, blank and malformed words --------------------------------------------------------
    c("run-model-empty", "run", "", expect="MODEL"),
    c("run-model-blank", "run", "   ", expect="MODEL"),
    c("run-model-nul", "run", "tiny\0net", expect="NUL"),
    c("run-cores-empty", *RUN, "--cores=", expect="--cores"),
    c("run-cores-blank", *RUN, "--cores= ", expect="--cores"),
    c("run-cores-comma", *RUN, "--cores=,", expect="--cores"),
    c("run-cores-trailing-comma", *RUN, "--cores=0,", expect="--cores"),
    c("run-cores-open-range", *RUN, "--cores=0-", expect="--cores"),
    c("run-cores-backwards", *RUN, "--cores=3-1", expect="--cores"),
    c("run-cores-huge-range", *RUN, "--cores=0-99999999999999", expect="--cores"),
    c("run-cores-negative", *RUN, "--cores=-1", expect="--cores"),
    c("run-cores-out-of-range", *RUN, "--cores=99999", expect="--cores"),
    c("run-cores-absent-cpu", *RUN, "--cores=0,4096", expect="CPU 4096 does not exist"),
    c("run-cores-words", *RUN, "--cores=a-b", expect="--cores"),
    c("run-isa-empty", *RUN, "--isa=", expect="--isa"),
    c("run-isa-unknown", *RUN, "--isa=avx9000", expect="unknown ISA cap"),
    c("run-device-empty", *RUN, "--device=", expect="--device"),
    c("run-device-blank", *RUN, "--device= ", expect="--device"),
    c("run-engine-empty", *RUN, "-e", "", expect="-e/--engine"),
    c("run-engine-trailing-comma", *RUN, "-e", "torch,", expect="empty engine name"),
    c("run-engine-comma", *RUN, "-e", ",", expect="empty engine name"),
    c("run-engine-unknown", *RUN, "-e", "torhc", expect="unknown engine 'torhc'; did you mean"),
    c("run-engine-absent", *RUN, "-e", "absent-engine", expect="not installed"),
    c("run-option-empty", *RUN, "--option=", expect="--option"),
    c("run-option-no-key", *RUN, "--option==1", expect="expected KEY=VALUE"),
    c("run-option-blank-key", *RUN, "--option= =1", expect="expected KEY=VALUE"),
    c("run-option-no-equals", *RUN, "--option=channels_last", expect="expected KEY=VALUE"),
    c(
        "run-option-twice",
        *RUN,
        "--option=compile=1",
        "--option=compile=0",
        expect="given twice",
    ),
    c("run-option-unknown-key", *RUN, "--option=chanels_last=1", expect="did you mean"),
    c("run-option-bad-value", *RUN, "--option=channels_last=maybe", expect="channels_last"),
    c("run-shape-empty", *RUN, "--input-shape=", expect="--input-shape"),
    c("run-shape-x", *RUN, "--input-shape=x", expect="--input-shape"),
    c("run-shape-trailing-x", *RUN, "--input-shape=3x", expect="--input-shape"),
    c("run-shape-zero", *RUN, "--input-shape=3x0x8", expect="--input-shape"),
    c("run-shape-negative", *RUN, "--input-shape=3x-1x8", expect="--input-shape"),
    c("run-shape-words", *RUN, "--input-shape=threextwo", expect="--input-shape"),
    c("run-shape-rank", *RUN, "--input-shape=1x2x3x4x5x6x7x8x9", expect="--input-shape"),
    c("run-shape-dim", *RUN, "--input-shape=3x99999x8", expect="--input-shape"),
    c("run-shape-elements", *RUN, "--input-shape=3x65536x65536", expect="--input-shape"),
    c("run-shape-huge", *RUN, f"--input-shape=3x{HUGE}", expect="--input-shape"),
    c("run-probe-empty", *RUN, "--probe=", expect="--probe"),
    c("run-probe-unknown", *RUN, "--probe=nosuch", expect="unknown probe"),
    c("run-probe-bad-ref", *RUN, "--probe=a b:C", expect="probe"),
    c("run-mode-empty", *RUN, "--mode=", expect="--mode"),
    c("run-mode-unknown", *RUN, "--mode=fastest", expect="unknown mode"),
    c("run-mode-trailing-comma", *RUN, "--mode=latency,", expect="empty mode name"),
    c("run-executor-empty", *RUN, "--executor=", expect="--executor"),
    c("run-executor-unknown", *RUN, "--executor=ray9", expect="unknown executor"),
    c("models-family-empty", "models", "--family=", expect="--family"),
    c("models-family-unknown", "models", "--family", "resnt", expect="unknown model family"),
    c("models-detail-empty", "models", "--detail=", expect="--detail"),
    c("models-shape-without-detail", "models", "--input-shape", "3x32x32", expect="--detail"),
    c(
        "models-detail-bad-shape",
        "models",
        "--detail",
        "tinynet",
        "--input-shape",
        "3x0",
        expect="--input-shape",
    ),
    c("list-model-empty", *LIST, "--model=", expect="--model"),
    c("list-engine-empty", *LIST, "--engine=", expect="--engine"),
    c("export-model-empty", *EXPORT, "--model=", expect="--model"),
    c("show-id-empty", "results", "show", "", expect="id"),
    c("import-file-empty", *IMPORT, "", expect="file"),
    # -- models (resolved by the lead's model workers) -------------------------------------------
    c("run-model-unknown", "run", "resnet5", expect="unknown model 'resnet5'", worker=True),
    c("run-model-long", "run", LONG, expect="too long|unknown model", worker=True),
    c("run-onnx-long", "run", f"{LONG}.onnx", expect="too long|onnx", worker=True),
    c("models-detail-long", "models", "--detail", LONG, expect="too long", worker=True),
    # -- the store -------------------------------------------------------------------------------
    c("run-db-empty", *RUN, "--db=", expect="--db"),
    c("run-db-missing-folder", *RUN, "--db={tmp}/missing/x.db", expect="does not exist"),
    c("run-db-long-name", *RUN, f"--db={{tmp}}/{LONG}", expect="too long"),
    c("run-db-long-folder", *RUN, f"--db={{tmp}}/{LONG}/x.db", expect="too long"),
    c("run-db-long-relative", *RUN, f"--db={LONG}", expect="too long"),
    c("run-db-folder", *RUN, "--db={tmp}/DIR", expect="folder"),
    c("run-db-through-file", *RUN, "--db={tmp}/TEXT/x.db", expect="not a folder"),
    c("run-db-device", *RUN, "--db=/dev/null", expect="not a regular file"),
    c("run-db-corrupt", *RUN, "--db={tmp}/CORRUPT", expect="corrupted"),
    c("run-db-text", *RUN, "--db={tmp}/TEXT", expect="corrupted|not a cnnbench store"),
    c("run-db-foreign", *RUN, "--db={tmp}/FOREIGN", expect="not a cnnbench store"),
    c("run-db-newer", *RUN, "--db={tmp}/NEWER", expect="schema"),
    c("info-db-corrupt", "info", "--db={tmp}/CORRUPT", expect="corrupted"),
    c("info-db-foreign", "info", "--db={tmp}/FOREIGN", expect="not a cnnbench store"),
    c("info-db-folder", "info", "--db={tmp}/DIR", expect="folder"),
    c("info-db-long", "info", f"--db={LONG}", expect="too long"),
    c("info-peaks-db-missing-folder", "info", "--peaks", "--db={tmp}/m/x.db", expect="not exist"),
    c("list-db-corrupt", *LIST, "--db={tmp}/CORRUPT", expect="corrupted"),
    c("list-db-foreign", *LIST, "--db={tmp}/FOREIGN", expect="not a cnnbench"),
    c("list-db-newer", *LIST, "--db={tmp}/NEWER", expect="schema"),
    c("list-db-folder", *LIST, "--db={tmp}/DIR", expect="folder"),
    c("list-db-long", *LIST, f"--db={LONG}", expect="too long"),
    c("list-db-missing-folder", *LIST, "--db={tmp}/m/x.db", expect="no store"),
    c("list-db-absent", *LIST, "--db={tmp}/absent.db", expect="no store"),
    c("show-unknown-id", "results", "show", "feedface", expect="no run with id|no store"),
    c("show-wildcard", "results", "show", "_", expect="ambiguous|no run with id|no store"),
    c("show-db-corrupt", "results", "show", "abc", "--db={tmp}/CORRUPT", expect="corrupted"),
    c("export-db-corrupt", *EXPORT, "--db={tmp}/CORRUPT", expect="corrupted"),
    c("export-db-long", *EXPORT, f"--db={LONG}", expect="too long"),
    # -- output files ----------------------------------------------------------------------------
    c("run-json-empty", *RUN, "--json=", expect="--json"),
    c("run-json-missing-folder", *RUN, "--json={tmp}/missing/x.json", expect="does not exist"),
    c("run-json-long", *RUN, f"--json={LONG}", expect="too long"),
    c("run-json-folder", *RUN, "--json={tmp}/DIR", expect="folder"),
    c("run-json-through-file", *RUN, "--json={tmp}/TEXT/x.json", expect="not a folder"),
    c("run-json-is-store", *RUN, "--json={db}", expect="is the result store"),
    c("run-json-stdout-bad-batch", *RUN, "--json=-", "--batch=0", expect="--batch"),
    c("run-json-stdout-bad-model", "run", "", "--json=-", expect="MODEL"),
    c("info-json-missing-folder", "info", "--json={tmp}/m/x.json", expect="does not exist"),
    c("info-json-folder", "info", "--json={tmp}/DIR", expect="folder"),
    c("info-json-is-store", "info", "--json={db}", expect="is the result store"),
    c("engines-json-empty", "engines", "--json=", expect="--json"),
    c("engines-json-missing-folder", "engines", "--json={tmp}/m/x.json", expect="not exist"),
    c("engines-json-long", "engines", f"--json={{tmp}}/{LONG}", expect="too long"),
    c("engines-json-folder", "engines", "--json={tmp}/DIR", expect="folder"),
    c("models-json-missing-folder", "models", "--json={tmp}/m/x.json", expect="not exist"),
    c("models-json-folder", "models", "--json={tmp}/DIR", expect="folder"),
    c("list-json-missing-folder", *LIST, "--json={tmp}/m/x.json", expect="not exist"),
    c("list-json-folder", *LIST, "--json={tmp}/DIR", expect="folder"),
    c("list-json-is-store", *LIST, "--json={db}", expect="is the result store"),
    c("list-json-stdout-bad-limit", *LIST, "--json=-", "--limit=0", expect="--limit"),
    c("show-json-folder", "results", "show", "abc", "--json={tmp}/DIR", expect="folder"),
    c("export-out-empty", *EXPORT, "-o", "", expect="--output"),
    c(
        "export-out-missing-folder",
        "results",
        "export",
        "-o",
        "{tmp}/m/x.jsonl",
        expect="not exist",
    ),
    c("export-out-long", *EXPORT, "-o", f"{{tmp}}/{LONG}", expect="too long"),
    c("export-out-folder", *EXPORT, "-o", "{tmp}/DIR", expect="folder"),
    c("export-out-is-store", *EXPORT, "-o", "{db}", expect="is the result store"),
    # -- import: the file ------------------------------------------------------------------------
    c("import-missing", *IMPORT, "{tmp}/missing.jsonl", expect="no such file"),
    c("import-folder", *IMPORT, "{tmp}/DIR", expect="folder"),
    c("import-device", *IMPORT, "/dev/zero", expect="not a regular file"),
    c("import-fifo", *IMPORT, "{tmp}/FIFO", expect="not a regular file"),
    c("import-long", *IMPORT, f"{{tmp}}/{LONG}", expect="too long"),
    c("import-through-file", *IMPORT, "{tmp}/TEXT/x", expect="not a folder"),
    c("import-the-store", *IMPORT, "{db}", expect="result store|no such file"),
    c(
        "import-into-corrupt",
        "results",
        "import",
        "{tmp}/GOOD",
        "--db={tmp}/CORRUPT",
        expect="corr",
    ),
    c(
        "import-into-foreign",
        "results",
        "import",
        "{tmp}/GOOD",
        "--db={tmp}/FOREIGN",
        expect="not a",
    ),
    c(
        "import-into-missing",
        "results",
        "import",
        "{tmp}/GOOD",
        "--db={tmp}/m/x.db",
        expect="not ex",
    ),
    c("import-into-long", *IMPORT, "{tmp}/GOOD", f"--db={LONG}", expect="too long"),
    c("import-into-folder", *IMPORT, "{tmp}/GOOD", "--db={tmp}/DIR", expect="folder"),
]

# -- import: the content -----------------------------------------------------------------------
# name -> (what to change in a valid record, what the one line must say, xfail reason or None)
Edit = dict[str, Any]
DROP = object()


def _set(rec: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    node = rec
    for key in parents:
        node = node[key]
    if value is DROP:
        node.pop(last, None)
    else:
        node[last] = value


BAD_RECORDS: dict[str, tuple[Edit, str]] = {
    "schema-other": ({"schema": "other/1"}, "schema"),
    "schema-missing": ({"schema": DROP}, "schema"),
    "status-unknown": ({"status": "great"}, "status"),
    "id-empty": ({"id": ""}, "id"),
    "id-number": ({"id": 5}, "id"),
    "created-not-a-time": ({"created": "yesterday"}, "created"),
    "spec-missing": ({"spec": DROP}, "spec"),
    "spec-string": ({"spec": "x"}, "spec"),
    "spec-batch-2**70": ({"spec.batch": 2**70}, "batch"),
    "spec-batch-zero": ({"spec.batch": 0}, "batch"),
    "spec-batch-string": ({"spec.batch": "1"}, "batch"),
    "spec-batch-float": ({"spec.batch": 1.0}, "batch"),
    "spec-threads-huge": ({"spec.threads": 99999}, "threads"),
    "spec-streams-zero": ({"spec.streams": 0}, "streams"),
    "spec-shape-negative": ({"spec.input_shape": [3, -1, 8]}, "input"),
    "spec-shape-string": ({"spec.input_shape": "3x32x32"}, "input_shape"),
    "spec-cores-negative": ({"spec.cores": [-1]}, "CPU"),
    "spec-model-empty": ({"spec.model": ""}, "model"),
    "spec-model-number": ({"spec.model": 5}, "model"),
    "spec-engine-null": ({"spec.engine": None}, "engine"),
    "spec-device-empty": ({"spec.device": ""}, "device"),
    "spec-mode-unknown": ({"spec.mode": "fast"}, "mode"),
    "spec-precision-unknown": ({"spec.precision": "fp8"}, "precision"),
    "spec-options-string": ({"spec.options": "x"}, "options"),
    "spec-budget-string": ({"spec.budget": "x"}, "budget"),
    "spec-budget-unknown-key": ({"spec.budget": {"bogus": 1}}, "bogus"),
    "spec-budget-zero": ({"spec.budget": {"seconds": 0}}, "budget"),
    "spec-budget-week": ({"spec.budget": {"seconds": 604800}}, "budget"),
    "spec-hash-mismatch": ({"spec_hash": "0" * 20}, "spec_hash"),
    "machine-string": ({"machine": "x"}, "machine"),
    "machine-no-id": ({"machine": {"cpu": "x"}}, "machine"),
    "effective-string": ({"effective": "x"}, "effective"),
    "throughput-string": ({"throughput": "fast"}, "throughput"),
    "cost-string": ({"cost": "cheap"}, "cost"),
    "agreement-number": ({"agreement": 7}, "agreement"),
    "latency-string": ({"latency_ms": "fast"}, "latency_ms"),
    "latency-n-string": ({"latency_ms.n": "x"}, "latency_ms.n"),
    "latency-n-2**70": ({"latency_ms.n": 2**70}, "latency_ms.n"),
    "latency-missing-when-ok": ({"latency_ms": DROP}, "latency_ms"),
    "samples-string": ({"samples_ms": "x"}, "samples_ms"),
    "samples-mixed": ({"samples_ms": [1.0, "a"]}, "samples_ms"),
    "throughput-ips-string": ({"throughput_ips": "fast"}, "throughput_ips"),
    "timing-string": ({"timing": "slow"}, "timing"),
    "energy-number": ({"energy": 3}, "energy"),
    "counters-list": ({"counters": [1]}, "counters"),
    "probes-string": ({"probes": "x"}, "probes"),
    "probes-numbers": ({"probes": [1]}, "probes"),
    "layers-string": ({"layers": "x"}, "layers"),
    "warnings-string": ({"warnings": "x"}, "warnings"),
    "warnings-numbers": ({"warnings": [1]}, "warnings"),
}

RAW_FILES: dict[str, tuple[str | bytes, str]] = {
    "not-json": ("{oops\n", "not JSON|JSON"),
    "empty": ("", "no result records"),
    "blank-lines": ("\n \n\n", "no result records"),
    "list": ("[1, 2]\n", "object"),
    "number": ("42\n", "object"),
    "string": ('"hello"\n', "object"),
    "null": ("null\n", "object"),
    "nan": ('{"schema": NaN}\n', "NaN|JSON"),
    "infinity": ('{"x": Infinity}\n', "Infinity|JSON"),
    "minus-infinity": ('{"x": -Infinity}\n', "Infinity|JSON"),
    "overflowing-float": ('{"x": 1e400}\n', "JSON|finite|number|schema"),
    "deep-lists": ("[" * 100_000 + "]" * 100_000 + "\n", "deep|nested"),
    "deep-objects": ('{"a":' * 50_000 + "1" + "}" * 50_000 + "\n", "deep|nested"),
    "not-utf8": (b"\xff\xfe\x00garbage\n", "cannot read|UTF-8|utf-8"),
}


def _bad_record_text(edit: Edit) -> str:
    good = make_record(seed=7).to_json()
    rec = json.loads(json.dumps(good))
    for path, value in edit.items():
        _set(rec, path, value)
    # A good line first: the whole file is refused, the good record is not imported either.
    return json.dumps(make_record(seed=8).to_json()) + "\n" + json.dumps(rec) + "\n"


def _special_files() -> dict[str, tuple[str, str]]:
    good = make_record(seed=7).to_json()
    line = json.dumps(good)
    nan_inside = line.replace('"throughput_ips": ', '"throughput_ips": NaN, "x": ', 1)
    return {
        "duplicate-ids": (line + "\n" + line + "\n", "repeats|duplicate"),
        "nan-inside-record": (nan_inside + "\n", "NaN|JSON"),
        "good-then-garbage": (line + "\n{oops\n", ":2:"),
        "bare-record-list": (json.dumps([good]) + "\n", "object"),
    }


for name, (_edit, expect) in BAD_RECORDS.items():
    CASES.append(c(f"import-{name}", *IMPORT, f"{{tmp}}/IMPORT-{name}", expect=expect))
for name, (_content, raw_expect) in {**RAW_FILES, **_special_files()}.items():
    CASES.append(c(f"import-{name}", *IMPORT, f"{{tmp}}/IMPORT-{name}", expect=raw_expect))


def _params() -> Iterator[Any]:
    for case in CASES:
        for setup in case.setups:
            marks = []
            if case.xfail:
                marks.append(pytest.mark.xfail(strict=False, reason=case.xfail))
            yield pytest.param(case, setup, id=f"{case.id}[{setup}]", marks=marks)


def _rows(db: Path) -> int:
    if not db.exists():
        return -1
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    finally:
        conn.close()


class _Absent(Engine):
    name = "absent-engine"
    package = "absent-engine-package"
    module = "absent_engine_module_xyz"

    def prepare(self, model, target):  # type: ignore[no-untyped-def]
        raise AssertionError("never prepared")


@pytest.fixture
def absent_engine() -> Iterator[None]:
    register_engine(_Absent)
    yield
    unregister_engine(_Absent.name)


def _write_files(tmp: Path) -> None:
    from cnnbench.store.sqlite import Store

    (tmp / "DIR").mkdir()
    (tmp / "CORRUPT").write_bytes(b"\x00garbage" * 512)
    (tmp / "TEXT").write_text("just some text, not a database\n" * 50)
    conn = sqlite3.connect(tmp / "FOREIGN")
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    Store(tmp / "NEWER").close()
    conn = sqlite3.connect(tmp / "NEWER")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    os.mkfifo(tmp / "FIFO")
    (tmp / "GOOD").write_text(json.dumps(make_record(seed=9).to_json()) + "\n")
    for name, (edit, _) in BAD_RECORDS.items():
        (tmp / f"IMPORT-{name}").write_text(_bad_record_text(edit))
    for name, (content, _) in {**RAW_FILES, **_special_files()}.items():
        target = tmp / f"IMPORT-{name}"
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def _argv(case: Case, tmp: Path, db: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)).replace("{db}", str(db)) for a in case.argv]


@pytest.fixture
def no_measurement(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail any case that would start a measurement, peaks or a listing's costing; record the
    model-resolution workers that start (allowed only where a case says so)."""
    import cnnbench.execute.costing as costing
    import cnnbench.execute.peaks as peaks
    import cnnbench.execute.resolve as resolve
    import cnnbench.execute.run as run

    started: list[str] = []

    def forbidden(what: str) -> Any:
        def fail(*args: object, **kwargs: object) -> None:
            raise AssertionError(f"bad input reached {what}")

        return fail

    real = resolve.run_worker

    def resolving(entry: str, *args: Any, **kwargs: Any) -> Any:
        started.append(entry)
        return real(entry, *args, **kwargs)

    monkeypatch.setattr(run, "execute", forbidden("a measurement"))
    monkeypatch.setattr(peaks, "measure_and_store", forbidden("a peaks measurement"))
    monkeypatch.setattr(costing, "summaries", forbidden("a listing's costing"))
    monkeypatch.setattr(resolve, "run_worker", resolving)
    monkeypatch.setattr(costing, "run_worker", resolving)
    yield started


def check_refused(code: int, out: str, err: str, argv: list[str], expect: str) -> str:
    """The house rule for one refused command; returns its one line."""
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code == 2, (code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert err.count("\n") == 1, err
    line = lines[0]
    assert line.startswith("cnnbench: error: "), line
    assert len(line) > len("cnnbench: error: ") + 5, line
    assert any(alt in line for alt in expect.split("|")), (expect, line)
    if "--json=-" in argv or ("--json" in argv and argv[argv.index("--json") + 1] == "-"):
        assert out == "" or json.loads(out) is not None
    else:
        assert out == "", out
    return line


@pytest.mark.usefixtures("absent_engine")
@pytest.mark.parametrize(("case", "setup"), list(_params()))
def test_bad_input_is_refused(
    case: Case,
    setup: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_measurement: list[str],
) -> None:
    from cnnbench.store.sqlite import Store

    _write_files(tmp_path)
    db = tmp_path / "cnnbench.db"
    if setup == "store":
        with Store(db) as store:
            store.save_many([make_record(seed=1), make_record(seed=2)])
    before = _rows(db)
    foreign = {name: (tmp_path / name).read_bytes() for name in ("CORRUPT", "FOREIGN", "NEWER")}
    argv = _argv(case, tmp_path, db)
    capsys.readouterr()

    code = main(argv)
    captured = capsys.readouterr()

    check_refused(code, captured.out, captured.err, argv, case.expect)
    assert _rows(db) == before
    if setup == "nostore":
        assert sorted(p.name for p in tmp_path.glob("cnnbench.db*")) == []
    for name, content in foreign.items():  # a file that is not our store is never touched
        assert (tmp_path / name).read_bytes() == content, name
    if not case.worker:
        assert no_measurement == [], "a worker started for input refused in the parent"


# -- as a real program: nothing but one line reaches the terminal --------------------------------

PROGRAM_CASES = [
    ("run", "tinynet", f"--batch={HUGE}"),
    ("run", "tinynet", "--budget=inf"),
    ("run", "tinynet", "--threads=1e999"),
    ("run", "tinynet", "--cores="),
    ("run", "tinynet", f"--db={LONG}"),
    ("run", "tinynet", "--json=-", "--streams=0"),
    (*LIST, "--db={tmp}/CORRUPT"),
    (*IMPORT, "{tmp}/IMPORT-deep-lists"),
    (*IMPORT, "{tmp}/IMPORT-spec-batch-2**70"),
    (*EXPORT, "-o", "{tmp}/missing/x.jsonl"),
    ("info", "--json={tmp}/DIR"),
    ("frobnicate",),
    ("run", "alexnett"),  # refused by the model-resolution worker
]


@pytest.mark.parametrize("argv", PROGRAM_CASES, ids=lambda a: " ".join(a)[:40])
def test_bad_input_from_the_program_has_no_traceback(argv: tuple[str, ...], tmp_path: Path) -> None:
    from cnnbench.store.sqlite import Store

    _write_files(tmp_path)
    db = tmp_path / "cnnbench.db"
    with Store(db) as store:
        store.save_many([make_record(seed=1)])
    words = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    env = {**os.environ, "CNNBENCH_DB": str(db)}
    proc = subprocess.run(
        [sys.executable, "-m", "cnnbench", *words],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    check_refused(proc.returncode, proc.stdout, proc.stderr, words, "")
    assert _rows(db) == 1


def test_an_unforeseen_os_error_is_one_line_naming_the_path(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    import cnnbench.cli.engines as engines_cli

    def fail(args: object) -> int:
        raise OSError(errno.ENAMETOOLONG, "File name too long", f"/some/{LONG}")

    monkeypatch.setattr(engines_cli, "cmd_engines", fail)
    code = main(["engines"])
    captured = capsys.readouterr()
    line = check_refused(code, captured.out, captured.err, ["engines"], "File name too long")
    assert "/some/x" in line and "(306 characters)" in line


def test_the_table_is_large_and_covers_every_subcommand() -> None:
    assert len(CASES) > 200
    firsts = {case.argv[0] if case.argv else "" for case in CASES}
    assert {"info", "engines", "models", "run", "results"} <= firsts
    actions = {case.argv[1] for case in CASES if case.argv[:1] == ("results",) and case.argv[1:]}
    assert {"list", "show", "export", "import"} <= actions


def test_help_shows_every_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for limits in (BATCH, THREADS, STREAMS, MIN_SAMPLES, ROUNDS, BUDGET_S, TIMEOUT_S):
        assert limits.short in text, limits.short


# -- the same limits below the CLI: a spec from the API or an import is held to them too ----------


def _spec(**kw: Any) -> Any:
    from cnnbench.spec import ModelRef, RunSpec, Target

    fields: dict[str, Any] = {
        "model": ModelRef("tinynet"),
        "input_shape": (3, 32, 32),
        "batch": 1,
        "target": Target("torch"),
    }
    return RunSpec(**{**fields, **kw})


def _target(**kw: Any) -> Any:
    from cnnbench.spec import Target

    return Target(**{"engine": "torch", **kw})


def _budget(**kw: Any) -> Any:
    from cnnbench.spec import Budget

    return Budget(**kw)


def _request(**kw: Any) -> Any:
    from cnnbench.execute.plan import RunRequest

    return RunRequest(**{"models": ("tinynet",), "engines": ("torch",), **kw})


CORE_CASES: dict[str, Any] = {
    "threads-above": lambda: _target(threads=THREADS.hi + 1),
    "threads-float": lambda: _target(threads=2.0),
    "streams-zero": lambda: _target(streams=0),
    "cores-above": lambda: _target(cores=(8192,)),
    "engine-blank": lambda: _target(engine=" "),
    "device-empty": lambda: _target(device=""),
    "isa-empty": lambda: _target(isa=""),
    "option-twice": lambda: _target(options=(("a", "1"), ("a", "2"))),
    "option-blank-key": lambda: _target(options=((" ", "1"),)),
    "batch-above": lambda: _spec(batch=BATCH.hi + 1),
    "batch-2**70": lambda: _spec(batch=2**70),
    "batch-bool": lambda: _spec(batch=True),
    "shape-rank": lambda: _spec(input_shape=(1,) * 9),
    "shape-dim": lambda: _spec(input_shape=(3, 65_537, 1)),
    "shape-elements": lambda: _spec(input_shape=(3, 65_536, 65_536)),
    "shape-string": lambda: _spec(input_shape="3x32x32"),
    "probe-blank": lambda: _spec(probes=("",)),
    "budget-inf": lambda: _budget(seconds=float("inf")),
    "budget-nan": lambda: _budget(seconds=float("nan")),
    "budget-above": lambda: _budget(seconds=BUDGET_S.hi + 1),
    "budget-huge-int": lambda: _budget(seconds=10**400),
    "min-samples-above": lambda: _budget(min_samples=MIN_SAMPLES.hi + 1),
    "max-samples-above": lambda: _budget(max_samples=10_000_001),
    "ci-one": lambda: _budget(target_rel_ci=1),
    "warmup-inf": lambda: _budget(warmup_max_s=float("inf")),
    "request-max-batch-zero": lambda: _request(max_batch=0),
    "request-rounds-above": lambda: _request(rounds=ROUNDS.hi + 1),
    "request-timeout-inf": lambda: _request(timeout_s=float("inf")),
    "request-resolve-timeout-nan": lambda: _request(resolve_timeout_s=float("nan")),
    "request-shape-zero": lambda: _request(input_shape=(3, 0)),
    "from-dict-batch-2**70": lambda: _from_dict(batch=2**70),
    "from-dict-threads-string": lambda: _from_dict(threads="2"),
    "from-dict-budget-inf": lambda: _from_dict(budget={"seconds": float("inf")}),
}


def _from_dict(**kw: Any) -> Any:
    from cnnbench.spec import RunSpec

    return RunSpec.from_dict({**_spec().to_dict(), **kw})


@pytest.mark.parametrize("name", sorted(CORE_CASES))
def test_the_core_holds_the_same_limits(name: str) -> None:
    from cnnbench.errors import BadInput

    with pytest.raises(BadInput) as info:
        CORE_CASES[name]()
    message = str(info.value)
    assert "\n" not in message
    assert "--" not in message  # the core never names a flag


def test_the_limits_themselves_are_allowed() -> None:
    from cnnbench.spec import INPUT_ELEMENTS_MAX

    spec = _spec(
        batch=BATCH.hi,
        target=_target(threads=THREADS.hi, streams=STREAMS.hi, cores=(0,)),
        budget=_budget(seconds=BUDGET_S.hi, min_samples=MIN_SAMPLES.hi, target_rel_ci=0.999),
        input_shape=(1, 16_384, INPUT_ELEMENTS_MAX // 16_384),
    )
    assert _from_dict(**spec.to_dict()) == spec
    _request(batch=BATCH.hi, max_batch=BATCH.hi, rounds=ROUNDS.hi, timeout_s=TIMEOUT_S.hi)


def test_an_option_known_to_one_named_engine_is_planned_for_all() -> None:
    """``channels_last`` is a torch option: with onnxruntime beside it the run is planned (that
    engine records the configuration as unsupported), alone on onnxruntime it is bad input."""
    from cnnbench.errors import BadInput
    from cnnbench.execute.plan import plan

    opts = (("channels_last", "1"),)
    specs = plan(_request(engines=("torch", "onnxruntime"), options=opts))
    assert [s.target.engine for s in specs] == ["torch", "onnxruntime"]
    with pytest.raises(BadInput, match="has an option 'channels_last'"):
        plan(_request(engines=("onnxruntime",), options=opts))
