"""Saved fits: round trip, fingerprint refusal and --force marking; the --from-study hook."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import samples

from cnnbench.errors import BadInput
from cnnbench.predict.dataset import select, study_keys
from cnnbench.predict.fit import fit_all, predict_one
from records import make_profile_record


def test_fit_saves_and_refuses_another_machine_or_engine(tmp_path: Path) -> None:
    data = samples(n=8)
    path, summary = fit_all(data, [], "onnxruntime", "machineA", None, root=tmp_path)
    assert path.exists() and path.with_suffix(".joblib").exists()
    assert summary["fingerprint"]["networks"] == [s.model for s in data]
    syn = summary["synergy"]  # both stages, on the networks with counts (half of them)
    assert len(syn["networks"]) == 4 and syn["instructions_from_macs"]["coef"][0] > 0
    features = data[0].features
    ok = predict_one("net0", "onnxruntime", "machineA", root=tmp_path, features=features)
    assert ok["forced"] is None
    assert ok["predicted_ms"] == pytest.approx(data[0].latency_ms, rel=0.05)
    assert ok["predictions"]["per-layer"]["uncertainty_pct"] is not None
    with pytest.raises(BadInput, match=r"machineA.*--force"):
        predict_one("net0", "onnxruntime", "machineB", root=tmp_path, features=features)
    forced = predict_one(
        "net0", "onnxruntime", "machineB", root=tmp_path, features=features, force=True
    )
    assert "machineA" in forced["forced"]
    assert forced["predicted_ms"] == ok["predicted_ms"]
    with pytest.raises(BadInput, match="engine onnxruntime, not openvino"):
        predict_one("net0", "openvino", "machineA", root=tmp_path, features=features)
    with pytest.raises(BadInput, match="no fitted model"):
        predict_one("net0", "openvino", "machineA", root=tmp_path / "none", features=features)


def test_from_study_keeps_only_the_studys_runs() -> None:
    rec = make_profile_record()
    machine = str(rec.machine["id"])
    assert select([rec], "openvino", threads=1, machine_id=machine) == [rec]
    keys = study_keys("mine", lambda name: [rec.spec], machine)
    assert select([rec], "openvino", threads=1, machine_id=machine, keys=keys) == [rec]
    other = study_keys("other", lambda name: [], machine)
    assert select([rec], "openvino", threads=1, machine_id=machine, keys=other) == []
    with pytest.raises(BadInput, match="studies are not available"):
        study_keys("mine", None, machine)


def test_target_statistic_reads_the_samples() -> None:
    from cnnbench.predict.dataset import target_ms

    rec = make_profile_record()
    assert rec.latency_ms is not None
    assert target_ms(rec) == rec.latency_ms.median
    assert target_ms(rec, "min") == rec.latency_ms.min
    p10 = target_ms(rec, "p10")
    assert rec.latency_ms.min < p10 < rec.latency_ms.median


def test_counts_prefer_last_level_misses_and_say_which() -> None:
    from dataclasses import replace

    from cnnbench.predict.dataset import counts_of
    from cnnbench.results.meters import Counters

    rec = make_profile_record()
    assert counts_of(rec) is None  # counters not requested: no counts, not zeros
    d1 = {"instructions": 5e7, "d1_read_misses": 2e5, "d1_write_misses": 4e4}
    sim = Counters(source="cachegrind (simulated)", per_inference=d1)
    got = counts_of(replace(rec, counters=sim))
    assert got is not None and got.memory == 2.4e5 and got.instructions == 5e7
    assert got.source == "cachegrind (simulated): d1_read_misses+d1_write_misses"
    both = {**d1, "ll_read_misses": 10.0, "ll_write_misses": 5.0}
    ll = Counters(source="cachegrind (simulated)", per_inference=both)
    got = counts_of(replace(rec, counters=ll))
    assert got is not None and got.memory == 15.0


def test_an_onnx_file_is_not_predicted_for_an_engine_that_cannot_run_it(tmp_path: Path) -> None:
    data = samples(n=8)
    fit_all(data, [], "torch", "machineA", None, root=tmp_path)
    onnx = tmp_path / "net.onnx"
    onnx.write_bytes(b"not read: refused before costing")
    with pytest.raises(BadInput, match="torch does not run ONNX files"):
        predict_one(str(onnx), "torch", "machineA", root=tmp_path)


def test_a_fit_reads_only_runs_with_its_engine_options() -> None:
    from dataclasses import replace

    rec = make_profile_record()
    machine = str(rec.machine["id"])
    target = replace(rec.spec.target, options=(("malloc", "Keep"),))
    kept = replace(rec, spec=replace(rec.spec, target=target))
    both = [rec, kept]
    assert select(both, "openvino", threads=1, machine_id=machine) == [rec]
    only = select(both, "openvino", threads=1, machine_id=machine, options=(("malloc", "keep"),))
    assert only == [kept]  # values compared as fits key them (lower-cased)


def test_a_fit_with_options_is_saved_and_found_under_them(tmp_path: Path) -> None:
    data = samples(n=8)
    keep = (("malloc", "keep"),)
    path, summary = fit_all(data, [], "torch", "machineA", None, root=tmp_path, options=keep)
    assert path.name == "latency-torch+malloc=keep-machineA.json"
    assert summary["fingerprint"]["options"] == {"malloc": "keep"}
    features = data[0].features
    ok = predict_one("net0", "torch", "machineA", root=tmp_path, features=features, options=keep)
    assert ok["forced"] is None and ok["options"] == {"malloc": "keep"}
    with pytest.raises(BadInput, match=r"options malloc=keep, not none.*--force"):
        predict_one("net0", "torch", "machineA", root=tmp_path, features=features)
    forced = predict_one("net0", "torch", "machineA", root=tmp_path, features=features, force=True)
    assert "options malloc=keep, not none" in forced["forced"]


def test_predict_refuses_a_bad_engine_option_before_reading_anything(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from cnnbench.cli.main import main

    db = tmp_path / "none.db"
    code = main(["predict", "fit", "-e", "torch", "--option", "malloc=always", "--db", str(db)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "malloc='always'" in err[0]
    assert not db.exists()
