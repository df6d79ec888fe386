"""``cnnbench profile``: per-layer time on every engine, stored, by type, with the overhead."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.store.sqlite import Store


def test_profile_every_engine_stored_by_type_with_a_plot(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["profile", "tinynet", "-e", "torch", "-e", "onnxruntime", "-e", "openvino"]
    args += ["--threads", "1", "--calls", "3", "--budget", "0.2", "--json", "p.json"]
    assert main([*args, "--plot", "p.svg"]) == 0
    profiles = json.loads(Path("p.json").read_text())
    assert [p["spec"]["engine"] for p in profiles] == ["torch", "onnxruntime", "openvino"]
    for p in profiles:
        prof = p["profile"]
        assert p["status"] == "ok" and p["spec"]["mode"] == "profile" and prof["calls"] == 3
        layer_ms = sum(x["time_ms"] for x in p["layers"])
        assert prof["layers_ms"] == pytest.approx(layer_ms)
        assert prof["end_to_end_ms"] == pytest.approx(p["latency_ms"]["median"])
        assert prof["overhead_ms"] == pytest.approx(prof["end_to_end_ms"] - layer_ms)
        assert prof["profiled_end_to_end_ms"] > 0  # the profiler's distortion is measured
        assert all(x["calls"] == 3 for x in p["layers"])  # every node in every profiled call
        types = p["by_type"]
        assert types[-1]["layer_type"] == "overhead"
        assert sum(t["time_ms"] for t in types) == pytest.approx(prof["end_to_end_ms"])
        shares = [t["flops_share"] for t in types if t["flops_share"] is not None]
        assert sum(shares) == pytest.approx(1.0)
    torch_types = {x["layer_type"] for x in profiles[0]["layers"]}
    assert "batchnorm" in torch_types  # eager torch runs BatchNorm as its own layer
    assert profiles[0]["profile"]["batchnorm"].startswith("kept")
    for p in profiles[1:]:  # folded at export: the ONNX engines never see it
        assert "batchnorm" not in {x["layer_type"] for x in p["layers"]}
        assert p["profile"]["batchnorm"].startswith("folded")
    out = capsys.readouterr()
    assert "overhead" in out.out and "stored in" in out.err
    assert Path("p.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    with Store(Path("cnnbench.db")) as store:  # stored, with the layers linked to each run
        stored = store.query(mode="profile")
    assert {r.spec.target.engine for r in stored} == {"torch", "onnxruntime", "openvino"}
    assert all(r.layers and r.profile for r in stored)
    conn = sqlite3.connect("cnnbench.db")
    assert conn.execute("SELECT COUNT(DISTINCT run_id) FROM layers").fetchone()[0] == 3
    conn.close()


def test_fold_bn_0_shows_where_batchnorm_goes_on_an_onnx_engine() -> None:
    args = ["profile", "tinynet", "-e", "onnxruntime", "--option", "fold_bn=0"]
    assert main([*args, "--calls", "2", "--budget", "0.2", "--json", "p.json"]) == 0
    (p,) = json.loads(Path("p.json").read_text())
    assert p["spec"]["options"] == {"fold_bn": "0"}
    assert p["profile"]["batchnorm"].startswith("kept")
    assert "BatchNorm kept" in p["cost"]["source"]
    # ORT's own optimiser fuses Conv+BatchNorm: BatchNorm is a source of a fused layer or a layer
    sources = [s for x in p["layers"] for s in x["source_layers"]]
    assert any("BatchNormalization" in s for s in sources)


def test_bad_plot_path_is_refused_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "tinynet", "--plot", "fig.txt"]) == 2
    err = capsys.readouterr().err
    assert "--plot" in err and len(err.strip().splitlines()) == 1
    assert not Path("cnnbench.db").exists()


def test_results_show_prints_a_stored_profile(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnbench.store.sqlite import Store
    from records import make_profile_record

    rec = make_profile_record()
    with Store(Path("cnnbench.db")) as store:
        store.save(rec)
    assert main(["results", "show", rec.id[:8], "--layers"]) == 0
    out = capsys.readouterr().out
    assert "FLOPs share" in out and "fused(conv+activation)" in out and "reorder" in out
    assert '"distortion"' in out and "overhead" in out


def test_replay_times_every_layer_alone_and_says_why_no_energy() -> None:
    import onnx

    from cnnbench.graph.export import onnx_path

    args = ["profile", "tinynet", "-e", "onnxruntime", "-e", "torch", "--replay", "--energy"]
    args += ["--threads", "1", "--budget", "0.5", "--json", "r.json"]
    assert main(args) == 0
    ort, torch_rec = json.loads(Path("r.json").read_text())
    for p in (ort, torch_rec):
        assert p["spec"]["mode"] == "replay" and p["status"] == "ok"
        prof = p["profile"]
        assert prof["profiler"].startswith("isolated replay")
        assert all(x["time_ms"] > 0 for x in p["layers"])
        assert prof["layers_ms"] == pytest.approx(sum(x["time_ms"] for x in p["layers"]))
        assert prof["overhead_ms"] == pytest.approx(prof["end_to_end_ms"] - prof["layers_ms"])
        notes = " ".join(prof["notes"])
        assert "distinct configuration" in notes
        if not Path("/sys/class/powercap/intel-rapl:0").exists():  # no meter: said, never 0 J
            assert "energy per layer: not measured" in notes
            assert all("energy_j" not in x for x in p["layers"])
    # every node of the exported graph the engine ran is one replayed layer, in graph order
    graph = onnx.load(str(onnx_path("tinynet", (1, 3, 32, 32))))
    assert [x["name"] for x in ort["layers"]] == [n.name for n in graph.graph.node]
    assert any(x["layer_type"] == "batchnorm" for x in torch_rec["layers"])  # eager modules


def test_energy_without_replay_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "tinynet", "--energy"]) == 2
    assert "--replay" in capsys.readouterr().err
