"""The parallel-modes tuner: grid, successive halving, Pareto front (injected measurements), and
one real run of ``cnnbench tune`` on tinynet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.studies.tuner import Evaluation, Point, exhaustive, grid, pareto_front, tune


def _throughput(p: Point) -> float:
    """A made-up machine: 4 cores, streams help up to 2, batch helps, 2 requests per stream
    help a little; best: s2 t2 b4 r4."""
    used = min(p.threads, 4)
    return (
        100.0
        * used
        * (1 + 0.1 * min(p.streams, 2))
        * (1 + 0.2 * p.batch.bit_length())
        * (1.05 if p.requests > p.streams else 1.0)
    )


def _latency_ms(p: Point) -> float:
    return 1e3 * p.batch * p.requests / _throughput(p)


class Recorder:
    """A measurement function that records the budgets it was asked for."""

    def __init__(self, fail_batch: int | None = None, noise: dict[Point, float] | None = None):
        self.calls: list[tuple[Point, float]] = []
        self.fail_batch = fail_batch
        self.noise = noise or {}

    def __call__(self, p: Point, budget_s: float) -> Evaluation:
        self.calls.append((p, budget_s))
        if self.fail_batch is not None and p.batch >= self.fail_batch:
            return Evaluation(p, budget_s, "oom", error="out of memory", wall_s=budget_s)
        boost = self.noise.get(p, 1.0) if budget_s < 1.0 else 1.0  # short budgets mislead
        ips = _throughput(p) * boost
        return Evaluation(p, budget_s, "ok", _latency_ms(p) / boost, ips, wall_s=budget_s)


def test_the_grid_shares_the_cores_and_doubles_requests_only_for_native_streams() -> None:
    ov = grid("openvino", 4, (1, 2))
    pairs = {(p.streams, p.threads_per_stream) for p in ov}
    assert pairs == {(1, 1), (1, 2), (1, 4), (2, 1), (2, 2), (4, 1)}
    assert len(ov) == 6 * 2 * 2
    assert {p.requests for p in ov if p.streams == 2} == {2, 4}
    torch = grid("torch", 4, (1, 2))
    assert len(torch) == 12 and all(p.requests == p.streams for p in torch)
    assert {p.streams for p in grid("torch", 3, (1,))} == {1, 2, 3}  # the core count itself
    with pytest.raises(BadInput):
        grid("torch", 0)


def test_halving_finds_the_true_best_for_a_fraction_of_the_exhaustive_budget() -> None:
    points = grid("openvino", 4, (1, 2, 4))
    truth = max(points, key=_throughput)
    rec = Recorder()
    t = tune(points, rec, objective="throughput", min_budget_s=0.1, full_budget_s=2.0, eta=3)
    assert t.best is not None and t.best.point == truth
    assert t.best.stage == "final" and t.best.budget_s == 2.0
    budgets = [b for _, b in rec.calls]
    assert budgets[: len(points)] == [0.1] * len(points)  # every point once, shortest budget
    assert sorted(set(budgets)) == pytest.approx([0.1, 0.3, 0.9, 2.0])
    assert sum(budgets) < 0.25 * 2.0 * len(points)  # far below measuring everything in full
    ref = exhaustive(points, Recorder(), objective="throughput", budget_s=2.0)
    assert ref.best is not None and ref.best.point == truth
    assert len(t.evaluated) == len(rec.calls)


def test_a_point_that_only_looks_best_on_short_budgets_loses_the_final() -> None:
    points = grid("torch", 4, (1, 2))
    truth = max(points, key=_throughput)
    lucky = Point(1, 1, 1, 1)
    rec = Recorder(noise={lucky: 100.0})  # 100x too fast whenever the budget is short
    t = tune(points, rec, objective="throughput", min_budget_s=0.1, full_budget_s=1.0, finalists=2)
    finals = [e for e in t.evaluated if e.stage == "final"]
    assert lucky in {e.point for e in finals}  # it reached the final ...
    assert t.best is not None and t.best.point == truth  # ... and lost it on the full budget


def test_failed_points_stay_recorded_and_never_win() -> None:
    points = grid("torch", 2, (1, 2, 4))
    t = tune(points, Recorder(fail_batch=4), objective="throughput", min_budget_s=0.1)
    failed = [e for e in t.evaluated if e.status == "oom"]
    assert {e.point.batch for e in failed} == {4} and len(failed) == 3
    assert all(e.stage == "halving" and e.rung == 0 for e in failed)
    assert t.best is not None and t.best.point.batch == 2
    none = tune(points, Recorder(fail_batch=1), objective="throughput", min_budget_s=0.1)
    assert none.best is None and none.pareto == ()


def test_latency_objective_and_the_pareto_front() -> None:
    points = grid("torch", 4, (1, 4))
    t = tune(points, Recorder(), objective="latency", min_budget_s=0.1, full_budget_s=0.5)
    assert t.best is not None and t.best.point == min(points, key=_latency_ms)
    a = Evaluation(Point(1, 1, 1, 1), 1, "ok", 1.0, 100.0)
    b = Evaluation(Point(1, 2, 1, 1), 1, "ok", 2.0, 300.0)
    c = Evaluation(Point(2, 1, 1, 2), 1, "ok", 3.0, 200.0)  # slower and less than b: dominated
    d = Evaluation(Point(4, 1, 1, 4), 1, "oom", error="x")
    assert [e.point for e in pareto_front([c, b, a, d])] == [a.point, b.point]
    front = {e.point for e in t.pareto}
    assert t.best.point in front


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"objective": "speed"}, "unknown objective"),
        ({"min_budget_s": 3.0, "full_budget_s": 1.0}, "short budget"),
        ({"eta": 1}, "eta"),
    ],
)
def test_bad_settings_are_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        tune(grid("torch", 2, (1,)), Recorder(), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="empty"):
        tune([], Recorder())


def test_cnnbench_tune_end_to_end_on_tinynet(capsys: pytest.CaptureFixture[str]) -> None:
    quick = ["--cores", "2", "--max-batch", "1", "--budget", "0.2", "--min-budget", "0.05"]
    code = main(["tune", "tinynet", "-e", "torch", *quick, "--json", "t.json"])
    assert code == 0
    out = json.loads(Path("t.json").read_text())
    assert {"best", "pareto", "evaluated"} <= set(out)
    pairs = {(e["streams"], e["threads_per_stream"]) for e in out["evaluated"]}
    assert pairs == {(1, 1), (1, 2), (2, 1)}
    assert all(e["status"] == "ok" and e["images_per_s"] > 0 for e in out["evaluated"])
    best = out["best"]
    assert best["stage"] == "final" and best["budget_s"] == 0.2
    assert best["images_per_s"] == max(
        e["images_per_s"] for e in out["evaluated"] if e["stage"] == "final"
    )
    text = capsys.readouterr().out
    assert "best (throughput)" in text and "Pareto" in text and "heat map" in text


def test_cnnbench_tune_refuses_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tune", "no_such_model", "-e", "torch"]) == 2
    assert main(["tune", "tinynet", "--min-budget", "3", "--budget", "1"]) == 2
    assert main(["tune", "tinynet", "--objective", "speed"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("cnnbench: error") == 3
