"""Comparisons with confidence: bootstrap CI95 of a ratio of medians, verdicts, geometric mean,
regressions, and the command line on a real store file."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from report_records import latency_record, samples, throughput_record

from cnnbench.cli.main import main
from cnnbench.report.compare import (
    FASTER,
    SAME,
    SLOWER,
    compare_records,
    per_image_scale,
    speedup_ci,
)
from cnnbench.report.labels import config_key, config_label
from cnnbench.store.sqlite import Store


def test_speedup_and_its_ci_on_seeded_samples() -> None:
    a, b = samples(10.0, 1), samples(5.0, 2)
    r = speedup_ci(a, b)
    assert r.ratio == pytest.approx(float(np.median(a)) / float(np.median(b)))
    assert 1.9 < r.ci95[0] < r.ratio < r.ci95[1] < 2.1
    assert r.verdict == FASTER
    assert speedup_ci(b, a).verdict == SLOWER
    again = speedup_ci(a, b)
    assert again.ci95 == r.ci95  # seeded: the same interval every time
    assert speedup_ci(a, b, seed=7).ci95 != r.ci95
    same = speedup_ci(samples(10.0, 3), samples(10.0, 4))
    assert same.verdict == SAME and same.ci95[0] < 1 < same.ci95[1]


def test_scales_make_per_image_times() -> None:
    a, b = samples(8.0, 1), samples(8.0, 2)  # B does 4 images in the time A does 1
    r = speedup_ci(a, b, a_scale=1, b_scale=4)
    assert r.ratio == pytest.approx(4 * float(np.median(a)) / float(np.median(b)))
    assert r.verdict == FASTER
    assert per_image_scale(throughput_record("m", "torch", 1.0)) == 4.0
    assert per_image_scale(latency_record("m", "torch", 1.0)) == 1.0


def test_ci_covers_the_true_ratio_about_95_percent_of_the_time() -> None:
    # Population medians 10 and 8: the true speedup is 1.25. 60 seeded trials of 150 samples.
    covered = 0
    trials = 60
    for t in range(trials):
        a = samples(10.0, 1000 + t, n=150, sigma=0.2)
        b = samples(8.0, 2000 + t, n=150, sigma=0.2)
        lo, hi = speedup_ci(a, b, resamples=500, seed=t).ci95
        covered += lo <= 1.25 <= hi
    assert 0.85 <= covered / trials <= 1.0


def _key(r: object) -> str:
    return config_key(r, ("engine", "options"))  # type: ignore[arg-type]


def _label(r: object) -> str:
    return config_label(r, ("engine", "options"))  # type: ignore[arg-type]


def test_pairs_geometric_mean_and_unpaired_configurations() -> None:
    a = [latency_record("m1", "torch", 10.0, seed=1), latency_record("m2", "torch", 4.0, seed=2)]
    b = [
        latency_record("m1", "openvino", 5.0, seed=3),  # 2x
        latency_record("m2", "openvino", 0.5, seed=4),  # 8x
        latency_record("m3", "openvino", 1.0, seed=5),
    ]
    c = compare_records(a, b, _key, _label, a_label="torch", b_label="openvino")
    assert [p.label for p in c.pairs] == ["m1 3x32x32 t1", "m2 3x32x32 t1"]
    g = c.geomean
    assert g is not None and g.ratio == pytest.approx(4.0, rel=0.03)  # sqrt(2 * 8)
    assert g.ci95[0] < g.ratio < g.ci95[1] and g.verdict == FASTER
    assert c.only_b == ("m3 3x32x32 t1",) and c.only_a == ()
    assert not c.regressions  # not two stores: nothing is a regression


def test_newest_record_of_a_configuration_is_used() -> None:
    old = latency_record("m1", "torch", 10.0, seed=1, created="2026-01-01T00:00:00+00:00")
    new = latency_record("m1", "torch", 20.0, seed=2, created="2026-02-01T00:00:00+00:00")
    b = [latency_record("m1", "openvino", 10.0, seed=3)]
    c = compare_records([new, old], b, _key, _label, a_label="a", b_label="b")
    assert c.pairs[0].a.id == new.id


def test_regressions_only_on_one_machine_and_beyond_five_percent() -> None:
    other = {"id": "m0000000000000002", "cpu_model": "Other CPU"}
    a = [
        latency_record("slow", "torch", 10.0, seed=1),
        latency_record("bit", "torch", 10.0, seed=2),
        latency_record("elsewhere", "torch", 10.0, seed=3),
    ]
    b = [
        latency_record("slow", "torch", 11.0, seed=4),  # 10 % slower: a regression
        latency_record("bit", "torch", 10.3, seed=5),  # 3 %: significant but below the bar
        latency_record("elsewhere", "torch", 12.0, seed=6, machine=other),
    ]

    def key(r: object) -> str:
        return config_key(r, machine=False)  # type: ignore[arg-type]

    c = compare_records(
        a, b, key, lambda r: r.spec.model.name, a_label="a", b_label="b", regressions=True
    )
    verdicts = {p.label: (p.speedup.verdict, p.regression) for p in c.pairs}
    assert verdicts["slow"] == (SLOWER, True)
    assert verdicts["bit"] == (SLOWER, False)
    assert verdicts["elsewhere"] == (SLOWER, False)  # another machine: not a regression
    assert [p.label for p in c.regressions] == ["slow"]


def _store(path: Path, records: list[object]) -> Path:
    with Store(path) as s:
        s.save_many(records)  # type: ignore[arg-type]
    return path


def test_cli_compare_engines_in_one_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _store(
        tmp_path / "cnnbench.db",
        [
            latency_record("m1", "torch", 10.0, seed=1),
            latency_record("m1", "openvino", 5.0, seed=2),
            latency_record("m<b>&2", "torch", 2.0, seed=3),
            latency_record("m<b>&2", "openvino", 2.0, seed=4),
        ],
    )
    assert (
        main(["results", "compare", "torch", "engine=openvino", "--json", "-", "--db", str(db)])
        == 0
    )
    out = json.loads(capsys.readouterr().out)  # stdout holds only JSON
    verdicts = {p["configuration"]: p["verdict"] for p in out["pairs"]}
    assert verdicts == {"m1 3x32x32 t1": FASTER, "m<b>&2 3x32x32 t1": SAME}
    assert out["pairs"][0]["ci95"][0] < out["pairs"][0]["speedup"] < out["pairs"][0]["ci95"][1]
    assert out["geomean"]["speedup"] == pytest.approx(2**0.5, rel=0.05)

    assert main(["results", "compare", "torch", "openvino", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "openvino faster" in text and "m<b>&2" in text and "geometric mean of 2" in text


def test_cli_compare_two_stores_flags_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")  # --html
    before = _store(tmp_path / "before.db", [latency_record("m1", "torch", 10.0, seed=1)])
    after = tmp_path / "after.jsonl"
    rec = latency_record("m1", "torch", 12.0, seed=2)
    from cnnbench.results.exchange import write_jsonl

    with open(after, "w") as fh:
        write_jsonl([rec], fh)
    code = main(
        ["results", "compare", str(before), str(after), "--json", "cmp.json", "--html", "cmp.html"]
    )
    assert code == 0
    out = json.loads(Path("cmp.json").read_text())
    assert out["regressions_checked"] and out["regressions"] == ["m1 3x32x32 torch t1"]
    err = capsys.readouterr().err
    assert "1 regression(s)" in err
    html = Path("cmp.html").read_text()
    assert 'data-section="compare"' in html and "REGRESSION" in html


def test_cli_compare_two_run_ids_and_bad_sides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = latency_record("m1", "torch", 10.0, seed=1)
    b = replace(latency_record("m1", "torch", 9.0, seed=2, threads=2))
    _store(tmp_path / "cnnbench.db", [a, b])
    assert main(["results", "compare", a.id[:10], b.id, "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["pairs"]) == 1 and out["pairs"][0]["verdict"] == FASTER
    for bad in (["nothing-like-this", "torch"], ["torch", "colour=red"], ["torch", "engine=tvm"]):
        assert main(["results", "compare", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("cnnbench: error: compare:") and err.count("\n") == 1
