"""Repeated profiles: ``--collect --repeats N`` measures rounds until each network has N, and a
sample joins them by medians, so one disturbed profile moves neither its target nor a kernel."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.measure.stats import summarize
from cnnbench.predict.collect import collection_specs, short_of
from cnnbench.predict.dataset import samples_from
from cnnbench.results.meters import ProbeReading
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import LayerRecord
from cnnbench.store.sqlite import Store
from records import MACHINE, make_profile_record, store_snapshot


def _profile(latency_ms: float, kernel_ms: tuple[float, float], day: int) -> ResultRecord:
    """tinynet profiled on openvino: an end-to-end median and its first two kernels' times."""
    from cnnbench.graph.cost import model_cost
    from cnnbench.predict.features import NetworkFeatures

    f = NetworkFeatures.of(model_cost("tinynet"), "tinynet")
    first, second = f.kernels[0].nodes[0], f.kernels[1].nodes[0]
    base = make_profile_record(seed=day)
    layers = (
        LayerRecord(first, "conv", (first,), kernel_ms[0], 5),
        LayerRecord(second, "pool", (second,), kernel_ms[1], 5),
    )
    samples = (latency_ms,) * 5
    return replace(
        base,
        layers=layers,
        latency_ms=summarize(samples),
        samples_ms=samples,
        created=f"2026-11-{day:02d}T00:00:00+00:00",
    )


def _cost(rec: ResultRecord) -> object:
    from cnnbench.graph.cost import model_cost

    return model_cost("tinynet", fold_bn=True)


def test_repeated_profiles_join_by_medians() -> None:
    pytest.importorskip("onnx")
    # newest first, as select() orders them; the middle profile was disturbed (3x slower)
    group = [
        _profile(1.0, (0.40, 0.10), 3),
        _profile(3.0, (1.20, 0.30), 2),
        _profile(1.1, (0.44, 0.12), 1),
    ]
    (s,) = samples_from(group, _cost)  # type: ignore[arg-type]
    assert s.profiles == 3 and s.run_ids == tuple(r.id for r in group)
    assert s.latency_ms == pytest.approx(1.1)  # median of 1.0, 3.0, 1.1
    assert s.kernel_ms[:2] == pytest.approx((0.44, 0.12))  # each kernel's own median
    assert sum(s.kernel_ms[2:]) == 0.0
    (one,) = samples_from(group[:1], _cost)  # type: ignore[arg-type]
    assert one.profiles == 1 and one.latency_ms == pytest.approx(1.0)


def test_a_profile_of_another_spec_is_not_joined() -> None:
    pytest.importorskip("onnx")
    new = _profile(1.0, (0.40, 0.10), 3)
    other = _profile(5.0, (2.0, 0.5), 2)
    other = replace(other, spec=replace(other.spec, input_shape=(3, 64, 64)))
    assert other.spec_hash != new.spec_hash
    (s,) = samples_from([new, other], _cost)  # type: ignore[arg-type]
    assert s.profiles == 1 and s.latency_ms == pytest.approx(1.0)


def test_short_of_counts_ok_runs_per_key_in_a_real_store(tmp_path: Path) -> None:
    specs = collection_specs("onnxruntime", "small", counted=1, threads=1)
    timed = [s for s in specs if s.mode == "profile"]
    counter_runs = [s for s in specs if s.mode != "profile"]
    assert timed and counter_runs  # the small set has both kinds
    first = timed[0]
    with Store(tmp_path / "s.db") as store:
        assert short_of(specs, store, MACHINE["id"], 1) == timed  # nothing measured yet
        ok = replace(make_profile_record(), spec=first)
        store.save(ok)
        store.save(replace(ok, id="again", created="2026-11-23T00:00:00+00:00"))
        store.save(replace(ok, id="broken", status="failed", error="boom"))
        assert first not in short_of(specs, store, MACHINE["id"], 2)  # two ok runs
        assert first in short_of(specs, store, MACHINE["id"], 3)  # a failed one does not count
        assert first in short_of(specs, store, "another-machine", 1)
        assert not set(counter_runs) & set(short_of(specs, store, MACHINE["id"], 5))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeats", "2"], "--repeats N goes with --collect"),
        (["--collect", "--repeats", "0"], "--repeats"),
        (["--collect", "--repeats", "6"], "--repeats"),
    ],
)
def test_bad_repeats_are_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    db = tmp_path / "cnnbench.db"
    with Store(db) as store:
        store.save(make_profile_record())
    before = store_snapshot(db)
    assert main(["predict", "fit", "-e", "onnxruntime", "--db", str(db), *argv]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert store_snapshot(db) == before


def _loaded(rec: ResultRecord, others_cpus: float) -> ResultRecord:
    load = ProbeReading("load", "other", "/proc/stat", {"others_cpus": others_cpus}, window_s=1.0)
    return replace(rec, probes=(load,))


def test_a_repeat_other_work_contended_is_left_out_while_a_clean_one_remains() -> None:
    pytest.importorskip("onnx")
    clean = _loaded(_profile(1.0, (0.40, 0.10), 3), 0.05)
    busy = _loaded(_profile(2.0, (0.80, 0.20), 2), 0.9)
    unknown = _profile(1.2, (0.42, 0.11), 1)  # measured before the load reading existed
    (s,) = samples_from([clean, busy, unknown], _cost)  # type: ignore[arg-type]
    assert s.profiles == 2 and s.contended == 1
    assert s.latency_ms == pytest.approx(1.1) and busy.id not in s.run_ids
    (only,) = samples_from([busy], _cost)  # type: ignore[arg-type]
    assert only.profiles == 1 and only.contended == 0  # nothing cleaner: kept, not dropped


@pytest.mark.slow
def test_collect_measures_rounds_until_each_spec_has_its_repeats(tmp_path: Path) -> None:
    """The command's collection loop on two tiny specs: the first pass (resumed), then one more
    round, each spec measured in its own fresh worker; a later call with the same repeats runs
    nothing more."""
    pytest.importorskip("onnxruntime")
    from cnnbench.cli.main import build_parser
    from cnnbench.cli.predict import _collect
    from cnnbench.execute.plan import RunRequest, plan
    from cnnbench.spec import Budget

    db = tmp_path / "cnnbench.db"
    argv = ["predict", "fit", "-e", "onnxruntime", "--db", str(db), "--collect", "--repeats", "2"]
    args = build_parser().parse_args(argv)
    budget = Budget(seconds=0.05, min_samples=3, warmup_max_s=0.02, profile_calls=1)
    specs = plan(RunRequest(("tinynet", "layer/conv?cin=8&cout=8&hw=8"), ("onnxruntime",),
                            modes=("profile",), threads=1, budget=budget))  # fmt: skip
    _collect(args, specs)
    _collect(args, specs)  # already two of each: nothing runs
    with Store(db, create=False) as store:
        records = list(store.query(engine="onnxruntime"))
        assert short_of(specs, store, records[0].machine["id"], 2) == []
    assert sorted(r.spec.model.name for r in records) == sorted([s.model.name for s in specs] * 2)
    assert all(r.status == "ok" and any(p.probe == "load" for p in r.probes) for r in records)


def test_the_repeats_spread_is_each_repeat_against_the_median_of_the_others() -> None:
    pytest.importorskip("onnx")
    from cnnbench.predict.evaluate import repeat_spread

    group = [
        _profile(1.0, (0.4, 0.1), 3),
        _profile(1.2, (0.4, 0.1), 2),
        _profile(1.1, (0.4, 0.1), 1),
    ]
    (s,) = samples_from(group, _cost)  # type: ignore[arg-type]
    assert s.repeat_ms == pytest.approx((1.0, 1.2, 1.1))
    m = repeat_spread([s])
    assert m is not None and m.n == 3
    expected = [100 * abs(1.0 / 1.15 - 1), 100 * abs(1.2 / 1.05 - 1), 0.0]
    assert m.mape == pytest.approx(sum(expected) / 3) and m.within_10 == pytest.approx(1 / 3)
    (single,) = samples_from(group[:1], _cost)  # type: ignore[arg-type]
    assert repeat_spread([single]) is None  # one profile: nothing to compare


def test_the_fit_summary_says_how_many_repeats_and_their_spread() -> None:
    from cnnbench.report.predict import fit_lines

    fp = {"target": "latency", "engine": "torch", "machine_id": "m1", "threads": 1}
    spread = {"n": 195, "mape": 15.6, "mape_sd": 14.4, "within_10": 0.49}
    summary = {"fingerprint": fp, "networks": 65, "probes": 160, "with_counters": 3,
               "profiles": 673, "contended": 2, "repeat_spread": spread,
               "held_out_network": {}, "unavailable": {}}  # fmt: skip
    text = "\n".join(fit_lines(summary))
    assert "673 profiles joined by medians (repeats); 2 measured under other load left out" in text
    assert "each against the others' median 15.6 +- 14.4 %, within 10 %: 49 % (n=195)" in text
    once = {**summary, "profiles": 225, "contended": 0, "repeat_spread": None}
    assert "repeats" not in "\n".join(fit_lines(once))
