"""The whole record: round trips, the old export format, validation that names the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cnnbench.errors import BadInput
from cnnbench.results import (
    Agreement,
    Counters,
    Energy,
    LayerRecord,
    ProbeReading,
    ResultRecord,
    Roofline,
    RoundTiming,
    SweepPoint,
    Throughput,
    Timing,
    Warmup,
)
from cnnbench.results.effective import Effective, IsaException
from cnnbench.results.exchange import dumps, read_jsonl, write_jsonl
from cnnbench.store.sqlite import Store
from records import make_record

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "exports" / "result-1.jsonl"


def full_record() -> ResultRecord:
    """A record with every section filled in."""
    rec = make_record(seed=5, batch=4)
    rounds = (
        RoundTiming(Warmup(100, 0.02, True), "ci", 0.01, 1.1, 3.0, 1.0, (0, 1), 1.0, 25),
        RoundTiming(Warmup(90, 0.02, False), "budget", 0.02, 1.0, 2.9, 9.0, (0, 1), 1.1, 25),
    )
    energy = ProbeReading("rapl", "energy", "rapl", {"energy_j": 3.0}, None, 0.5)
    return replace(
        rec,
        effective=Effective(
            "fp32", 2, 1, "CPU", "avx2", (IsaException("r", "Reduce", "jit_avx512"),), {"x": 1}
        ),
        throughput=Throughput(
            "synchronous batch sweep",
            "plateau",
            (SweepPoint(1, "ok", 1.0, (0.9, 1.1), 1000.0, 40), SweepPoint(2, "oom", error="x")),
            best_batch=1,
        ),
        energy=Energy("rapl", None, "rapl", 3.0, 0.5, 250, 6.0, None, 0.012, 0.1),
        counters=Counters("perf", probe="perf", counts={"cycles": 1e6}, window_s=0.5),
        agreement=Agreement("torch fp32 eager (cpu)", 1e-3, True, 0.0, 0.0, 1.0),
        roofline=Roofline("measured", achieved_gflops=1.0, peak_gflops=10.0, bound="memory"),
        timing=Timing(rounds, rel_half_width=0.012, round_spread=0.1),
        probes=(energy, ProbeReading.unavailable("perf", "counters", "no PMU")),
        layers=(LayerRecord("conv1", "conv", ("conv1",), 0.5, 10, "brgconv", 100, 200, 64),),
        warnings=("noise: x", "ci: y"),
    )


def test_whole_record_round_trip_through_json_text_and_the_store(tmp_path: Path) -> None:
    rec = full_record()
    assert ResultRecord.from_json(json.loads(dumps(rec.to_json()))) == rec
    with Store(tmp_path / "s.db") as store:
        store.save(rec)
        assert store.get(rec.id) == rec


def test_new_keys_are_optional() -> None:
    d = make_record().to_json()
    assert "probes" not in d and "layers" not in d
    assert {"probes", "layers"} <= set(full_record().to_json())


def test_the_old_export_imports_and_exports_the_same_keys(tmp_path: Path) -> None:
    records = read_jsonl(FIXTURE)
    statuses = sorted(r.status for r in records)
    assert statuses == ["ok"] * 6 + ["timeout", "unsupported"]
    lines = FIXTURE.read_text().splitlines()
    for line, rec in zip(lines, records, strict=True):
        old, new = json.loads(line), rec.to_json()
        assert set(old) <= set(new)
        for key in old:
            if key == "effective" and old[key]:
                assert new[key] == {"isa": None, **old[key]}  # a typed key, reported as null
            else:
                assert new[key] == old[key], key
    by_kind = {(r.spec.mode, r.spec.target.streams, len(r.timing.rounds)): r for r in records}
    sweep = by_kind[("throughput", 1, 1)].throughput
    assert sweep is not None and sweep.best_batch == 4 and len(sweep.sweep) == 3
    assert by_kind[("latency", 2, 1)].timing.rounds[0].streams is not None
    assert len(by_kind[("latency", 1, 2)].timing.rounds) == 2
    assert any(r.roofline is not None and r.roofline.bound for r in records)
    assert any(r.cost.legacy.get("crosscheck") for r in records)  # torch's old count, kept
    with Store(tmp_path / "s.db") as store:
        assert store.save_many(records, skip_existing=True) == len(records)
        again = store.query(samples=True)
    assert sorted(again, key=lambda r: r.id) == sorted(records, key=lambda r: r.id)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]  # type: ignore[index]
        d[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (_set("effective", "x"), "effective must be an object"),
        (_set("throughput", "fast"), "throughput must be an object"),
        (_set("cost", "cheap"), "cost must be an object"),
        (_set("agreement", 7), "agreement must be an object"),
        (_set("latency_ms.n", "12"), "latency_ms.n must be an integer"),
        (_set("latency_ms.ci95", [1]), "latency_ms.ci95 must be two finite numbers"),
        (_set("effective.threads", "two"), "effective.threads must be an integer"),
        (_set("cost.macs", -1), "cost.macs must be an integer >= 0"),
        (_set("throughput.sweep.1.batch", 0), r"throughput.sweep[1].batch must be"),
        (_set("timing.rounds.0.warmup.settled", "yes"), "timing.rounds[0].warmup.settled"),
        (_set("energy.source", 3), "energy.source must be a string"),
        (_set("counters.counts.cycles", "many"), "counters.counts.cycles must be a number"),
        (_set("probes.0.kind", "power"), "probes[0].kind must be one of"),
        (_set("layers.0.layer_type", "convolution"), "layers[0].layer_type"),
        (_set("roofline.bound", "both"), "roofline.bound"),
        (_set("spec.batch", 0), "spec: "),
        (_set("status", "fine"), "status must be one of"),
        (_set("created", "yesterday"), "created must be an ISO 8601 time"),
        (_set("machine", {"cpu": "x"}), "machine.id must be a non-empty string"),
        (_set("samples_ms", [1, "a"]), "samples_ms must be a list of finite numbers"),
        (_set("latency_ms", None), "latency_ms must be an object in an ok record"),
    ],
)
def test_validation_names_the_field(mutate: Mutation, named: str) -> None:
    d = json.loads(dumps(full_record().to_json()))
    mutate(d)
    with pytest.raises(BadInput) as info:
        ResultRecord.from_json(d)
    message = str(info.value)
    assert message.startswith("not a valid cnnbench.result/1 record: ")
    assert named in message


def test_a_bad_line_names_line_and_field(tmp_path: Path) -> None:
    good, bad = make_record(seed=1).to_json(), make_record(seed=2).to_json()
    bad["latency_ms"]["n"] = "many"
    path = tmp_path / "in.jsonl"
    path.write_text(dumps(good) + "\n" + dumps(bad) + "\n")
    with pytest.raises(BadInput, match=r":2: .*latency_ms\.n"):
        read_jsonl(path)
    path.write_text(dumps(good).replace('"cv": ', '"cv": NaN, "x": ') + "\n")
    with pytest.raises(BadInput, match=":1: not strict JSON"):
        read_jsonl(path)
    path.write_text("[" * 100_000 + "\n")
    with pytest.raises(BadInput, match=":1:"):
        read_jsonl(path)


def test_export_writes_strict_json(tmp_path: Path) -> None:
    import io

    buf = io.StringIO()
    write_jsonl([full_record()], buf)
    assert "NaN" not in buf.getvalue() and "Infinity" not in buf.getvalue()


def test_spec_keys_are_the_keys_a_spec_writes() -> None:
    from cnnbench.results.record import SPEC_KEYS
    from cnnbench.scenario import LoadgenSettings
    from cnnbench.spec import ModelRef, RunSpec, Target

    target = Target("e", isa="avx2", isa_strict=True, name="big", node=(("cpu", "EPYC"),))
    lg = LoadgenSettings("Offline")
    spec = RunSpec(ModelRef("m"), (1,), 1, target, "loadgen", probes=("p",), loadgen=lg)
    assert frozenset(spec.to_dict()) == SPEC_KEYS
