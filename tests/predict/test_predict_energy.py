"""The energy target: records whose meter (RAPL) measured energy that follows a known law,
in a real SQLite store; estimated and unmetered energy never trains; no meter, one line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.graph.cost import model_cost
from cnnbench.models import get_model_info
from cnnbench.predict import energy
from cnnbench.predict.collect import PATTERNS, SMALL_GRID, pattern_name
from cnnbench.predict.features import NetworkFeatures
from cnnbench.predict.fit import fit_all, predict_one
from cnnbench.predict.predictors import MacsOnly, PerLayer
from cnnbench.results.meters import Energy
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import LayerRecord
from cnnbench.spec import ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from records import make_record, this_machine

pytest.importorskip("sklearn")

ENGINE = "onnxruntime"
# ten small pattern networks (not grouped: its conv_group kernels are in no other family, so
# holding one out leaves one network to train that kind on, a weakness of the predictor's own)
NETS = tuple(pattern_name(p, *pt) for pt in SMALL_GRID for p in PATTERNS if p != "grouped")
LONE = NETS[5]  # standard, depth 4: its kinds are all in the other networks
# the law the records follow: per kernel A * MACs + B, per network the kernels + OVERHEAD (mJ);
# dynamic energy (idle power subtracted) per network A * MACs + DYNAMIC_C
A_MJ_PER_MAC = 1.5e-6  # 1.5 nJ per multiply-accumulate
B_MJ = 0.02
OVERHEAD_MJ = 0.05
DYNAMIC_C_MJ = 0.25
IDLE_W = 6.0


def features(name: str) -> NetworkFeatures:
    cost = model_cost(name, get_model_info(name).input_shape, 1, fold_bn=True)  # as ORT runs it
    return NetworkFeatures.of(cost, name)


def kernel_mj(f: NetworkFeatures) -> list[float]:
    return [A_MJ_PER_MAC * k.macs + B_MJ for k in f.kernels]


def metered(total_mj: float, dynamic_mj: float | None, latency_ms: float) -> Energy:
    calls = 400
    return Energy(
        source="rapl",
        probe="energy",
        energy_j=total_mj * calls / 1e3,
        window_s=latency_ms * calls / 1e3,
        inferences=calls,
        active_w=total_mj / latency_ms,
        idle_w=IDLE_W if dynamic_mj is not None else None,
        j_per_inference=total_mj / 1e3,
        dynamic_j_per_inference=None if dynamic_mj is None else dynamic_mj / 1e3,
        basis="dynamic" if dynamic_mj is not None else "total",
    )


def record(
    name: str, e: Energy, *, layers: tuple[LayerRecord, ...] = (), machine: Any = None
) -> ResultRecord:
    base = make_record()
    spec = RunSpec(
        ModelRef(name),
        get_model_info(name).input_shape,
        1,
        Target(ENGINE, threads=1),
        mode="replay" if layers else "latency",
        probes=("energy",),
    )
    return replace(base, spec=spec, energy=e, layers=layers, machine=machine or base.machine)


def network_only(name: str, machine: dict[str, Any] | None = None) -> ResultRecord:
    """A latency run with RAPL: the network's energy, no layers; dynamic = A * MACs + C."""
    f = features(name)
    rec = record(name, Energy.none("placeholder"), machine=machine)
    assert rec.latency_ms is not None
    ms = rec.latency_ms.median
    dynamic = A_MJ_PER_MAC * f.macs + DYNAMIC_C_MJ
    return replace(rec, energy=metered(dynamic + IDLE_W * ms, dynamic, ms))


def replayed(name: str, machine: dict[str, Any] | None = None) -> ResultRecord:
    """A replay with RAPL: every layer's energy per call, the network's total (sum + OVERHEAD)."""
    f = features(name)
    per = kernel_mj(f)
    layers = tuple(
        LayerRecord(k.nodes[0], k.kind, k.nodes, 0.01 + 1e-6 * k.macs, 20, energy_j=e / 1e3)
        for k, e in zip(f.kernels, per, strict=True)
    )
    rec = record(name, Energy.none("placeholder"), layers=layers, machine=machine)
    assert rec.latency_ms is not None
    return replace(rec, energy=metered(sum(per) + OVERHEAD_MJ, None, rec.latency_ms.median))


def unmetered(rec: ResultRecord, seed: int) -> list[ResultRecord]:
    """The same network, newer: an estimate from a TDP (absurd on purpose) and no energy."""
    est = replace(rec.energy, source="estimated", j_per_inference=9.9, dynamic_j_per_inference=None)
    none = Energy.none("no energy probe was requested for this run")
    return [
        replace(rec, id=f"est{seed}", energy=est, created="2999-01-01T00:00:00.000+00:00"),
        replace(rec, id=f"none{seed}", energy=none, created="2999-01-02T00:00:00.000+00:00"),
    ]


def test_network_energy_uses_only_meters_prefers_dynamic_and_recovers_the_law() -> None:
    records = []
    for i, name in enumerate(NETS):
        rec = network_only(name)
        records += [rec, *unmetered(rec, i)]
    records.sort(key=lambda r: r.created, reverse=True)  # newest first, as the store gives
    samples = energy.samples_from(records)
    assert [s.model for s in samples] == sorted(NETS)  # one each: estimated, none never
    assert all(s.target.basis == "dynamic" and s.target.unit == "mJ" for s in samples)
    assert all(not s.run_ids[0].startswith(("est", "none")) and not s.profiled for s in samples)
    for s in samples:
        assert s.value == pytest.approx(A_MJ_PER_MAC * s.features.macs + DYNAMIC_C_MJ)
    line = MacsOnly().fit(samples).line
    assert line is not None
    assert line.coef[0] == pytest.approx(A_MJ_PER_MAC, rel=1e-4)
    assert line.intercept == pytest.approx(DYNAMIC_C_MJ, rel=1e-3)
    # no idle baseline on one network: every network falls back to total energy, and says why
    no_idle = replace(records[-1], energy=replace(records[-1].energy, dynamic_j_per_inference=None))
    total = energy.samples_from([*records[:-1], no_idle])
    assert {s.target.basis for s in total} == {"total"} and "idle" in total[0].target.note
    # only estimates and unmetered runs: no sample at all, never a zero
    rest = [r for r in records if r.energy.source in ("estimated", "none")]
    assert energy.samples_from(rest) == []
    why = energy.why_none(rest, ENGINE)
    assert why.startswith(f"no training network has measured energy on engine {ENGINE}")
    assert "10 estimated (TDP x time, not a meter)" in why and "energy source here: " in why
    assert "10 with energy none (no energy probe was requested for this run)" in why
    assert "\n" not in why


def test_kernel_energy_from_metered_replays_recovers_kernels_and_overhead() -> None:
    lone_run = replace(replayed(LONE), layers=())  # metered, its layers not replayed
    records = [replayed(name) for name in NETS if name != LONE] + [lone_run]
    samples = energy.samples_from(records)
    assert {s.target.basis for s in samples} == {"total"}  # the layers' basis
    by = {s.model: s for s in samples}
    lone = by.pop(LONE)
    assert not lone.profiled and lone.kernel_mj == ()  # no layers: network terms only
    for s in by.values():
        assert s.kernel_mj == pytest.approx(kernel_mj(s.features))
        assert s.unattributed_mj == 0 and s.value == pytest.approx(sum(s.kernel_mj) + OVERHEAD_MJ)
    model = PerLayer().fit(samples)
    assert model.network is not None
    assert model.network.coef[0] == pytest.approx(1.0, rel=0.02)
    for s in samples:  # the network without layers too: from its kernels' models
        assert model.predict(s.features).value == pytest.approx(s.value, rel=0.01)


def test_without_layer_energy_the_kernel_models_are_unavailable_and_say_why(
    tmp_path: Path,
) -> None:
    samples = energy.samples_from([network_only(name) for name in NETS[:6]])
    _, summary = fit_all(samples, [], ENGINE, "mA", 1, root=tmp_path)
    why = summary["unavailable"]["per-layer"]
    assert "cnnbench profile --replay --energy" in why and "0 network(s)" in why
    assert summary["held_out_network"]["macs-only"]["mape"] < 1e-3


def test_a_fit_of_another_target_is_refused(tmp_path: Path) -> None:
    from synthetic import samples

    data = samples(n=8)
    path, _ = fit_all(data, [], ENGINE, "mA", None, root=tmp_path)
    f = data[0].features
    with pytest.raises(BadInput, match="no energy fit for onnxruntime; the latency fit"):
        predict_one("net0", ENGINE, "mA", root=tmp_path, features=f, target="energy")
    # a latency fit at an energy fit's place (copied by hand): refused, --force or not
    for suffix in (".json", ".joblib"):
        target = tmp_path / f"energy-{ENGINE}-mA{suffix}"
        target.write_bytes(path.with_suffix(suffix).read_bytes())
    with pytest.raises(BadInput, match="predicts latency, not energy"):
        predict_one("net0", ENGINE, "mA", root=tmp_path, features=f, target="energy", force=True)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_energy_fit_eval_show_and_no_meter_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNBENCH_CACHE", str(tmp_path / "cache"))
    here = dict(this_machine().machine)
    db = tmp_path / "cnnbench.db"
    common = ["-e", ENGINE, "--threads", "1", "--db", str(db), "--target", "energy"]
    unmeasured = [r for i, n in enumerate(NETS[:5]) for r in unmetered(network_only(n, here), i)]
    with Store(db) as store:
        for rec in unmeasured:
            store.save(rec)
    for cmd in (["fit"], ["eval"]):
        code, out, err = _run(["predict", *cmd, *common], capsys)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"no training network has measured energy on engine {ENGINE}" in err
        assert "energy source here:" in err
    code, _, err = _run(["predict", "fit", *common, "--statistic", "p10"], capsys)
    assert code == 2 and "--statistic p10 is for latency" in err

    with Store(db) as store:  # metered now: every network's layers but one network's
        for name in NETS:
            rec = replayed(name, here)
            store.save(replace(rec, layers=()) if name == LONE else rec)
    code, out, _ = _run(["predict", "fit", *common, "--json", "-"], capsys)
    assert code == 0
    fit = json.loads(out)
    assert Path(fit["path"]).name.startswith(f"energy-{ENGINE}-")
    assert fit["fingerprint"]["target"] == "energy" and fit["unit"] == "mJ"
    assert fit["networks"] == len(NETS) and fit["basis"] == "total"
    assert fit["without_per_kernel"] == [LONE] and fit["per_kernel"] == len(NETS) - 1
    outcomes = fit["held_out_outcomes"]["per-layer"]
    assert all("measured_mj" in o and "measured_ms" not in o for o in outcomes)
    # held out too, the law is near: each network's kernels come from the others' (in-sample
    # exactness is tested above; a kind seen on two configurations only extrapolates)
    assert fit["held_out_network"]["per-layer"]["mape"] < 5
    code, out, _ = _run(["predict", "eval", *common, "--by", "family", "--json", "-"], capsys)
    assert code == 0
    ev = json.loads(out)
    assert ev["target"] == "energy" and ev["unit"] == "mJ" and ev["basis"] == "total"
    (family,) = ev["evaluations"]
    assert family["by"] == "family" and family["predictors"]["per-layer"]["n"] == len(NETS)
    assert set(family["predictors"]["macs-only"]["networks"][0]) == {
        "model",
        "family",
        "measured_mj",
        "predicted_mj",
        "rel_error",
    }
    show = ["predict", "show", NETS[3], *common[:4], "--target", "energy"]
    code, out, _ = _run([*show, "--json", "-"], capsys)
    assert code == 0
    shown = json.loads(out)
    truth = sum(kernel_mj(features(NETS[3]))) + OVERHEAD_MJ
    assert shown["predicted_mj"] == pytest.approx(truth, rel=0.02) and "predicted_ms" not in shown
    code, out, _ = _run(show, capsys)
    assert code == 0 and "per-layer: " in out and " mJ" in out
    assert " ms" not in out.split("\nfitted")[0]  # no figure of this fit is in ms
    code, _, err = _run(["predict", "show", NETS[3], *common[:4]], capsys)  # latency: none fitted
    assert code == 2 and err.count("\n") == 1
    assert "no latency fit for onnxruntime; the energy fit" in err
