"""Import is strict: every bad line refuses the whole file, naming the line and the field, before
anything is written; a good file survives export -> import -> export, and every record it
holds can be shown.

Each bad case is line 2 of a file whose line 1 is good, imported into a store that already
holds a record: the store must be byte-for-byte the same afterwards (same rows in every table).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_record import FIXTURE, full_record

from cnnbench import spec as spec_module
from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.results.exchange import dumps, read_jsonl
from cnnbench.store.sqlite import Store
from records import make_record, store_snapshot

Edit = Callable[[dict[str, Any]], None]
FIRST_ID, SECOND_ID = "1" * 32, "2" * 32


@dataclass(frozen=True)
class Text:
    """An edit of line 2's text (for what a JSON writer cannot produce)."""

    edit: Callable[[str], str]


def put(path: str, value: Any) -> Edit:
    """Set ``path`` (dots, list indexes as numbers) to ``value``."""

    def edit(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def inject(anchor: str, extra: str) -> Text:
    """Write ``extra`` right after ``anchor`` in the text of line 2."""
    return Text(lambda text: text.replace(anchor, anchor + extra, 1))


def drop(path: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = d
        for p in parents:
            node = node[p]
        del node[last]

    return edit


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


NONE_ENERGY = {"source": "none", "reason": ""}

# (case, edit of the record of line 2, or a function of its text, what the message must name)
BAD: list[tuple[str, Edit | Text, str]] = [
    # sections of the wrong type
    ("effective-string", put("effective", "x"), "effective must be an object"),
    ("throughput-string", put("throughput", "fast"), "throughput must be an object"),
    ("cost-string", put("cost", "cheap"), "cost must be an object"),
    ("agreement-number", put("agreement", 7), "agreement must be an object"),
    ("energy-number", put("energy", 3), "energy must be an object"),
    ("timing-list", put("timing", []), "timing must be an object"),
    ("counters-string", put("counters", "many"), "counters must be an object"),
    ("roofline-bool", put("roofline", True), "roofline must be an object"),
    ("latency-list", put("latency_ms", []), "latency_ms must be an object"),
    ("probes-object", put("probes", {}), "probes must be a list of objects"),
    ("layers-string", put("layers", "conv"), "layers must be a list of objects"),
    ("spec-string", put("spec", "resnet"), "spec must be an object"),
    ("machine-string", put("machine", "box"), "machine must be an object"),
    ("software-list", put("software", []), "software must be an object"),
    ("warnings-string", put("warnings", "careful"), "warnings must be a list of strings"),
    ("samples-object", put("samples_ms", {}), "samples_ms must be a list of numbers"),
    ("record-list", Text(lambda text: "[]"), "the record must be an object"),
    # strings (and other types) where numbers are expected
    ("n-string", put("latency_ms.n", "x"), "latency_ms.n must be an integer"),
    ("n-float", put("latency_ms.n", 1.5), "latency_ms.n must be an integer"),
    ("median-string", put("latency_ms.median", "1.0"), "latency_ms.median must be a finite"),
    ("ips-string", put("throughput_ips", "100"), "throughput_ips must be a finite number"),
    ("flops-string", put("cost.flops", "2000"), "cost.flops must be an integer"),
    ("energy-j-string", put("energy.energy_j", "3"), "energy.energy_j must be a finite number"),
    ("batch-string", put("spec.batch", "4"), "spec: batch must be"),
    ("tolerance-string", put("agreement.tolerance_rel", "tight"), "agreement.tolerance_rel"),
    ("warmup-calls", put("timing.rounds.0.warmup.calls", "many"), "timing.rounds[0].warmup.calls"),
    ("threads-string", put("effective.threads", "two"), "effective.threads must be an integer"),
    ("sweep-batch", put("throughput.sweep.0.batch", 1.5), "throughput.sweep[0].batch"),
    ("samples-string", put("samples_ms", [1.0, "a"]), "samples_ms must be a list of finite"),
    # integers SQLite cannot store, anywhere; and the spec's own limits
    ("batch-2**70", put("spec.batch", 2**70), "spec.batch must be an integer within 64 bits"),
    ("threads-2**63", put("spec.threads", 2**63), "spec.threads must be an integer within 64"),
    ("shape-2**64", put("spec.input_shape", [3, 2**64, 32]), "spec.input_shape[1] must be"),
    ("cores-2**64", put("spec.cores", [0, 2**64]), "spec.cores[1] must be"),
    ("macs-2**64", put("cost.macs", 2**64), "cost.macs must be an integer within 64 bits"),
    ("machine-int", put("machine.memory_bytes", 2**70), "machine.memory_bytes must be an"),
    ("details-int", put("effective.x", -(2**80)), "effective.x must be an integer within"),
    ("affinity-int", put("timing.rounds.0.affinity", [2**64]), "timing.rounds[0].affinity[0]"),
    ("digits", Text(lambda t: t.replace('"n": 50', '"n": ' + "9" * 5000)), "thousands of digits"),
    ("n-negative", put("latency_ms.n", -1), "latency_ms.n must be an integer >= 0"),
    ("batch-limit", put("spec.batch", 2**40), "spec: batch must be"),
    ("threads-limit", put("spec.threads", 10**6), "spec: threads must be"),
    ("budget-limit", put("spec.budget.seconds", 1e300), "spec: the budget in seconds must be"),
    # NaN and Infinity anywhere, as tokens or as floats that overflow
    ("nan", inject('"latency_ms": {', '"x": NaN, '), "NaN is not JSON"),
    ("infinity", inject('"machine": {', '"f": Infinity, '), "Infinity is not JSON"),
    ("-infinity", inject('"effective": {', '"y": -Infinity, '), "-Infinity is not JSON"),
    ("1e999", inject('"counts": {', '"x": 1e999, '), "1e999 does not fit a 64-bit float"),
    # deep nesting, and text that is not JSON
    ("deep-text", Text(lambda text: "[" * 100_000 + "]" * 100_000), "nested too deeply"),
    ("deep-details", put("effective.x", nested(100)), "effective.x[0][0]"),
    ("not-json", Text(lambda text: text[:-1]), "not JSON"),
    # identity: ids, the machine, the spec's hash and keys
    ("duplicate-id", put("id", FIRST_ID), "repeats line 1"),
    ("no-machine-id", drop("machine.id"), "machine.id must be a non-empty string"),
    ("empty-machine-id", put("machine.id", ""), "machine.id must be a non-empty string"),
    ("number-machine-id", put("machine.id", 5), "machine.id must be a non-empty string"),
    ("no-machine", drop("machine"), "machine must be an object"),
    ("empty-id", put("id", ""), "id must be a non-empty string"),
    ("option-like-id", put("id", "-rf"), "id must be 1 to 128 letters"),
    ("spaced-id", put("id", "a b"), "id must be 1 to 128 letters"),
    ("wildcard-id", put("id", "ab%"), "id must be 1 to 128 letters"),
    ("unknown-spec-key", put("spec.colour", "red"), "spec.colour is not a field of a run spec"),
    ("spec-hash", put("spec_hash", "0" * 20), "spec_hash does not match"),
    ("key", put("key", "0" * 20), "key does not match"),
    ("status", put("status", "fine"), "status must be one of"),
    ("schema", put("schema", "cnnbench.result/0"), "schema must be"),
    ("created", put("created", "yesterday"), "created must be an ISO 8601 time"),
    # values the sections refuse, and what `results show` could not display
    ("cost-none-no-reason", put("cost", {"source": "none"}), "cost.reason must be a non-empty"),
    ("energy-blank-reason", put("energy", NONE_ENERGY), "energy.reason must be a non-empty"),
    ("median-zero", put("latency_ms.median", 0), "latency_ms.median must be a positive number"),
    ("ips-negative", put("throughput_ips", -1.0), "throughput_ips must be a number >= 0"),
    ("software-number", put("software.torch", 2), "software.torch must be a string"),
    ("probe-values", put("probes.0.values", {"a": [1]}), "probes[0].values must be scalars"),
    ("sweep-status", put("throughput.sweep.0.status", "great"), "throughput.sweep[0].status"),
    ("layer-type", put("layers.0.layer_type", "convolution"), "layers[0].layer_type"),
    ("bound", put("roofline.bound", "both"), "roofline.bound must be"),
    ("ok-no-latency", drop("latency_ms"), "latency_ms must be an object in an ok record"),
]


# The spec's ranges (BATCH, THREADS, BUDGET_S) are spec.py's; these cases run where it has them.
SPEC_LIMITS = pytest.mark.skipif(not hasattr(spec_module, "BATCH"), reason="no ranges in spec.py")
CASES = [
    pytest.param(edit, named, id=case, marks=[SPEC_LIMITS] if case.endswith("-limit") else [])
    for case, edit, named in BAD
]


def _bad_file(tmp_path: Path, edit: Edit | Text) -> Path:
    first = json.loads(dumps(full_record().to_json()))
    first["id"] = FIRST_ID
    second = {**json.loads(dumps(first)), "id": SECOND_ID}
    if isinstance(edit, Text):
        text = edit.edit(dumps(second))
    else:
        edit(second)
        text = json.dumps(second)  # json, not dumps: the point is to write what dumps refuses
    path = tmp_path / "in.jsonl"
    path.write_text(dumps(first) + "\n" + text + "\n")
    return path


@pytest.mark.parametrize(("edit", "named"), CASES)
def test_a_bad_line_refuses_the_file_naming_line_and_field(
    edit: Edit | Text, named: str, tmp_path: Path
) -> None:
    path = _bad_file(tmp_path, edit)
    with pytest.raises(BadInput) as info:
        read_jsonl(path)
    message = str(info.value)
    assert message.startswith(f"{path}:2: "), message
    assert named in message, message
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize(("edit", "named"), CASES)
def test_a_bad_import_exits_2_with_one_line_and_leaves_the_store_as_it_was(
    edit: Edit | Text,
    named: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        store.save(make_record(seed=99))
    before = store_snapshot(db)
    path = _bad_file(tmp_path, edit)
    assert main(["results", "import", str(path), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert ":2: " in err and named in " ".join(err.split()), err
    assert store_snapshot(db) == before


def test_the_bad_cases_cover_the_issue() -> None:
    """Every kind the issue lists has a case (the table is the test's reason to exist)."""
    assert len(BAD) >= 70
    names = " ".join(c[0] for c in BAD)
    for kind in ("effective", "throughput", "cost", "agreement", "energy", "timing", "n-string"):
        assert kind in names
    for kind in ("batch-2**70", "nan", "infinity", "deep", "duplicate-id", "no-machine-id"):
        assert kind in names


def _good_records() -> list[dict[str, Any]]:
    records = [full_record(), make_record(seed=1), make_record("resnet18", status="oom")]
    out = [json.loads(dumps(r.to_json())) for r in records]
    out += [json.loads(line) for line in FIXTURE.read_text().splitlines()]  # older exports
    return out


def test_a_good_file_round_trips_through_the_cli_and_every_record_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    originals = _good_records()
    source = tmp_path / "in.jsonl"
    source.write_text("".join(dumps(d) + "\n" for d in originals))
    db = tmp_path / "new.db"
    assert main(["results", "import", str(source), "--db", str(db)]) == 0
    assert f"imported {len(originals)} record(s)" in capsys.readouterr().err
    assert main(["results", "import", str(source), "--db", str(db)]) == 0  # idempotent
    assert "imported 0 record(s)" in capsys.readouterr().err

    out = tmp_path / "out.jsonl"
    assert main(["results", "export", "--db", str(db), "-o", str(out)]) == 0
    exported = {d["id"]: d for d in map(json.loads, out.read_text().splitlines())}
    assert set(exported) == {d["id"] for d in originals}
    for d in originals:
        assert set(d) <= set(exported[d["id"]])
        for key in set(d) - {"effective"}:  # older exports lack effective's typed null keys
            assert exported[d["id"]][key] == d[key], key
    assert not re.search(r"\bNaN\b|Infinity", out.read_text())

    again = tmp_path / "again.db"
    assert main(["results", "import", str(out), "--db", str(again)]) == 0
    out2 = tmp_path / "out2.jsonl"
    assert main(["results", "export", "--db", str(again), "-o", str(out2)]) == 0
    assert sorted(out2.read_text().splitlines()) == sorted(out.read_text().splitlines())

    for run_id in exported:
        capsys.readouterr()
        assert main(["results", "show", run_id, "--db", str(db)]) == 0, capsys.readouterr().err
        assert run_id in capsys.readouterr().out
        assert main(["results", "show", run_id[:10], "--db", str(db), "--json", "-"]) == 0
        assert json.loads(capsys.readouterr().out)["id"] == run_id
    assert main(["results", "list", "--db", str(db)]) == 0
