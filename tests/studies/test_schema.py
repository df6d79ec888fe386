"""Study files are validated whole before anything runs: one line naming the key, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.studies.plan import load_study, plan_study, shipped_studies

GOOD = """\
study: t
models: [tinynet]
targets:
  one: {cores: 1, threads: 1}
settings: {engines: [torch], budget_s: 0.1}
metrics: [latency]
"""

BAD = [
    ("studdy: t\n" + GOOD.split("\n", 1)[1], "studdy: unknown key; did you mean 'study'?"),
    (GOOD.replace("metrics: [latency]", "metrics: [latncy]"), "metrics[0]: must be one of"),
    (GOOD.replace("{cores: 1, threads: 1}", "{cores: some}"), "targets.one.cores: must be 'all'"),
    (GOOD.replace("threads: 1}", "thread: 1}"), "targets.one.thread: unknown key; did you mean"),
    (
        GOOD.replace("threads: 1}", "threads: 1, threads_per_stream: 2}"),
        "targets.one.threads: give threads or threads_per_stream",
    ),
    (GOOD.replace("budget_s: 0.1", "budget_s: -1"), "settings.budget_s: must be a number > 0"),
    (GOOD.replace("budget_s: 0.1", "budget_s: .inf"), "settings.budget_s: must be a number"),
    (GOOD.replace("[tinynet]", "[]"), "models: must not be an empty list"),
    (GOOD.replace("one: {cores: 1, threads: 1}", "nowhere:"), "targets.nowhere: target 'nowhere'"),
    (GOOD.replace("one:", "'bad name':"), "targets.bad name: 'bad name' is not a name"),
    (GOOD.replace("isa", "x") + "quick: {modles: [tinynet]}\n", "quick.modles: unknown key"),
    (GOOD + "quick: {settings: {rounds: 0}}\n", "settings.rounds: must be an integer from 1"),
    (GOOD.replace("threads: 1}", "isa: avx9}"), "targets.one.isa: must be one of"),
    (GOOD.replace("precision", "x").replace("threads: 1}", "precision: fp8}"), "precision"),
    ("study: t\nmodels: [tinynet\n", "not valid YAML (line"),
    ("- a list\n", "must be a mapping, got"),
    (GOOD.replace("metrics: [latency]\n", ""), "needs 'metrics'"),
    (GOOD.replace("[torch]", "[torhc]"), "unknown engine 'torhc'; did you mean torch?"),
    (GOOD.replace("[tinynet]", "[no_such_net]"), "no_such_net"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_study_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert main(["study", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err
    assert not (tmp_path / "cnnbench.db").exists()  # nothing ran, nothing written


def test_unknown_study_name_lists_the_shipped_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["study", "paralel-modes"]) == 2
    err = capsys.readouterr().err
    assert "did you mean parallel-modes?" in err and "design-patterns" in err


@pytest.mark.parametrize("name", sorted(shipped_studies()))
def test_shipped_studies_validate_and_plan(name: str) -> None:
    quick = load_study(name, quick=True)
    full = load_study(name)
    assert quick.quick and not full.quick and quick.name == name
    plan = plan_study(quick)
    assert plan.points
    assert all(p.spec.target.name for p in plan.points)  # every spec carries its target name
    assert len({p.spec.spec_hash() for p in plan.points}) == len(plan.points)


def test_user_targets_file_and_target_expansion(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(
        "mine: {cores: all, engine: [torch], streams: [1, 2], threads_per_stream: [1, 2],"
        " max_threads: 2}\nlacking: {needs: [no_such_flag]}\n"
    )
    (tmp_path / "s.yaml").write_text(
        GOOD.replace("  one: {cores: 1, threads: 1}\n", "  mine:\n  lacking:\n")
    )
    study = load_study(str(tmp_path / "s.yaml"), targets=tmp_path / "targets.yaml")
    plan = plan_study(study)
    got = sorted((p.spec.target.streams, p.spec.target.threads) for p in plan.points)
    assert got == [(1, 1), (1, 2), (2, 2)]  # 2 streams x 2 threads each exceeds max_threads
    assert {p.spec.target.name for p in plan.points} == {"mine"}
    assert any("lacking: this CPU lacks no_such_flag" in n for n in plan.notes)


def test_target_name_is_a_label_outside_the_identity() -> None:
    from dataclasses import replace

    from cnnbench.spec import RunSpec
    from records import quick_spec

    spec = quick_spec(threads=1)
    named = replace(spec, target=replace(spec.target, name="big"))
    assert named.spec_hash() == spec.spec_hash()
    assert RunSpec.from_dict(named.to_dict()).target.name == "big"
