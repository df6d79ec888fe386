"""Interleaved comparisons, failures that do not stop a group, the throughput ladder."""

from __future__ import annotations

from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.sweep import (
    batch_ladder,
    measure_latency_group,
    round_budget,
)
from cnnbench.spec import Budget
from records import QUICK, quick_spec, this_machine


def test_engines_of_a_comparison_run_interleaved_in_rounds() -> None:
    a, b = quick_spec(threads=1), quick_spec(threads=2)
    ra, rb = measure_latency_group([a, b], this_machine(), LocalExecutor(), rounds=2)
    assert ra.status == rb.status == "ok"
    starts_a = [r.started_s for r in ra.timing.rounds]
    starts_b = [r.started_s for r in rb.timing.rounds]
    assert starts_a[0] < starts_b[0] < starts_a[1] < starts_b[1]  # A B A B
    # Each record merges its rounds' samples.
    assert ra.latency_ms is not None
    assert ra.latency_ms.n == sum(r.n or 0 for r in ra.timing.rounds) == len(ra.samples_ms)
    assert ra.spec.budget == QUICK  # the record keeps the whole budget, not one round's share


def test_a_failed_configuration_is_not_retried_and_the_others_go_on() -> None:
    good, bad = quick_spec(threads=1), quick_spec(threads=1, precision="int8")
    rg, rb = measure_latency_group([good, bad], this_machine(), LocalExecutor(), rounds=2)
    assert rg.status == "ok" and len(rg.timing.rounds) == 2
    assert rb.status == "unsupported" and "round 1" in (rb.error or "")


def test_round_budget_shares() -> None:
    b = round_budget(Budget(seconds=3, min_samples=10), 3)
    assert b.seconds == 1 and b.min_samples == 4
    assert round_budget(QUICK, 1) == QUICK


def test_batch_ladder() -> None:
    assert batch_ladder(1) == [1]
    assert batch_ladder(8) == [1, 2, 4, 8]
    assert batch_ladder(12) == [1, 2, 4, 8, 12]


def test_streams_measure_requests_in_flight(tmp_path: object) -> None:
    import json
    from pathlib import Path

    from cnnbench.cli.main import main

    args = ["run", "tinynet", "-e", "onnxruntime", "--streams", "2", "--threads", "1"]
    assert main([*args, "--budget", "0.3", "--json", "s.json"]) == 0
    rec = json.loads(Path("s.json").read_text())[0]
    streams = rec["timing"]["streams"]
    assert streams["requests_in_flight"] == 2 and streams["completed"] == rec["latency_ms"]["n"]
    assert rec["throughput_ips"] == streams["images_per_s"]  # not batch / median latency
    assert rec["spec"]["streams"] == 2
