"""The ray executor on a real local Ray cluster (ray.cluster_utils.Cluster): two nodes with one
``cnnbench_slot`` each, tiny models, a real store.

Every record lands once, with the node it ran on; a node removed mid-sweep costs one retry on
the other node, never a lost or duplicated row; the workers of one node never overlap in time;
``--executor ray`` (a local Ray) keeps ``--json -`` pure. Marked ``fleet`` (deselect with
``-m 'not fleet'``); skipped where Ray is not installed.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.execute.executors import get_executor
from cnnbench.execute.run import execute
from cnnbench.measure.isolation import SCRATCH_PREFIX
from cnnbench.measure.records import Environment
from cnnbench.results.record import ResultRecord
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions

pytestmark = pytest.mark.fleet

QUICK = Budget(seconds=0.2, min_samples=4, warmup_max_s=0.1)
# Runs its whole budget (the CI target cannot be met), long enough to lose a node under it.
LONG = Budget(seconds=4.0, min_samples=4, target_rel_ci=1e-6, warmup_max_s=0.1)


def _spec(batch: int, budget: Budget = QUICK, **target: Any) -> RunSpec:
    return RunSpec(
        ModelRef("tinynet"),
        (3, 32, 32),
        batch,
        Target("torch", **{"threads": 1, **target}),
        budget=budget,
    )


def _env() -> Environment:
    return Environment(collect(), software_versions())


def _nodes_of(rec: ResultRecord) -> set[str | None]:
    return {r.node for r in rec.timing.rounds}


def _rows(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT spec_hash, batch FROM runs").fetchall()


# -- without a cluster ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--executor", "ray", "--address", "nohost"], "expected auto or HOST:PORT"),
        (["--executor", "ray", "--address", "10.0.0.1:0"], "expected auto or HOST:PORT"),
        (["--executor", "ray", "--address", "10.0.0.1:70000"], "expected auto or HOST:PORT"),
        (["--executor", "ray", "--address", "a b:1"], "expected auto or HOST:PORT"),
        (["--executor", "ray", "--address", "127.0.0.1:1"], "no Ray cluster answers"),
        (["--address", "127.0.0.1:6379"], "executor local takes no option --address"),
        (["--executor", "ray", "--node", "cpu"], "expected KEY=VALUE"),
        (["--executor", "ray", "--node", "colour=red"], "unknown node selection key"),
        (["--executor", "ray", "--node", "gpu=maybe"], "must be true or false"),
    ],
)
def test_bad_executor_options_are_one_line_and_exit_2(
    argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray")
    code = main(["run", "tinynet", "-e", "torch", "--budget", "0.2", *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert needle in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    assert captured.out == ""
    assert not (tmp_path / "cnnbench.db").exists() or _rows(tmp_path / "cnnbench.db") == []


def test_without_ray_the_executor_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a)
    )
    with pytest.raises(BadInput, match=r"cnnbench\[fleet\]"):
        get_executor("ray")


def test_a_local_ray_keeps_json_stdout_pure(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray")
    quick = ["--budget", "0.2", "--min-samples", "4", "--threads", "1"]
    code = main(["run", "tinynet", "-e", "torch", *quick, "--executor", "ray", "--json", "-"])
    out = capfd.readouterr().out
    assert code == 0
    (record,) = json.loads(out)  # nothing but the JSON on stdout (fd 1, Ray's processes too)
    assert record["status"] == "ok"
    assert len(record["timing"]["node"]) == 56  # the Ray node it ran on
    assert record["machine"]["id"] == collect()["id"]
    assert len(_rows(tmp_path / "cnnbench.db")) == 1


# -- a two-node cluster --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for zone in ("a", "b"):
            c.add_node(num_cpus=1, resources={"cnnbench_slot": 1}, labels={"zone": zone})
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()


def _slot_nodes(cluster: Any) -> dict[str, Any]:
    """Node id -> the Cluster's node object, for the nodes that offer a slot."""
    return {n.node_id: n for n in cluster.worker_nodes}


def test_a_sweep_lands_every_record_once_with_its_node(cluster: Any, tmp_path: Path) -> None:
    # Three comparisons over two slots: batch 1 on two targets (one lane: one node), 2 and 3.
    specs = [_spec(1), _spec(1, threads=2), _spec(2), _spec(3)]
    env = _env()
    seen: list[str] = []
    with Store(tmp_path / "fleet.db") as store, get_executor("ray", address=cluster.address) as ex:
        started = time.monotonic()
        result = execute(
            specs, store, env, executor=ex, rounds=1, on_done=lambda r: seen.append(r.id)
        )
        elapsed = time.monotonic() - started
        again = execute(specs, store, env, executor=ex, resume=True)
    assert [r.status for r in result.records] == ["ok"] * 4
    rows = _rows(tmp_path / "fleet.db")
    assert Counter(b for _, b in rows) == {1: 2, 2: 1, 3: 1}  # each spec once
    assert len({h for h, _ in rows}) == 4
    # streamed to the parent as they finished (in completion order; the result is in plan order)
    assert sorted(seen) == sorted(r.id for r in result.records) and len(seen) == 4
    nodes = set(_slot_nodes(cluster))
    per_node = Counter(n for r in result.records for n in _nodes_of(r))
    assert set(per_node) == nodes  # both nodes measured, and only they
    for rec in result.records:
        assert len(_nodes_of(rec)) == 1
        assert rec.machine["id"] == env.machine["id"]  # the node's own fingerprint (same host)
    pair = [_nodes_of(r) for r in result.records if r.spec.batch == 1]
    assert pair[0] == pair[1]  # a comparison is measured on one machine
    # Exclusivity: one node's workers never overlap in time.
    for node in nodes:
        spans = sorted(
            (r.started_s, r.started_s + r.worker_wall_s)
            for rec in result.records
            for r in rec.timing.rounds
            if r.node == node and r.started_s is not None and r.worker_wall_s is not None
        )
        assert len(spans) == per_node[node]
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    # Resume across the fleet: every spec was measured on its machine, so nothing runs again.
    assert again.records == () and len(again.skipped) == 4
    assert len(_rows(tmp_path / "fleet.db")) == 4
    print(f"\ntwo-node sweep: 4 specs in {elapsed:.1f} s, records per node {dict(per_node)}")


def test_a_label_selects_the_node_and_ray_leaves_the_thread_count_alone(
    cluster: Any, tmp_path: Path
) -> None:
    zone_b = (("label.zone", "b"),)
    env = _env()
    with Store(tmp_path / "fleet.db") as store, get_executor("ray", address=cluster.address) as ex:
        (node_b,) = [n.id for n in ex.nodes(env.machine) if n.labels.get("zone") == "b"]
        (rec,) = execute([_spec(1, threads=None, node=zone_b)], store, env, executor=ex).records
        with pytest.raises(BadInput, match=r"no node matches the node selection label\.zone=c"):
            execute([_spec(1, node=(("label.zone", "c"),))], store, env, executor=ex)
        assert store.count() == 1
    assert rec.status == "ok" and _nodes_of(rec) == {node_b}
    # Ray's OMP_NUM_THREADS=1 does not reach the worker: no thread count means the engine's own.
    assert rec.effective.threads == torch_default_threads()


def torch_default_threads() -> int:
    """torch's own default in a fresh interpreter (this test process may have set its count)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(out.stdout.strip())


def _busy_raylets(cluster: Any) -> dict[str, int]:
    """Node id -> the pid of a Ray worker of that node now running a measurement worker (its
    scratch folder is named after that pid; other users' folders belong to no raylet here)."""
    raylets = {n.all_processes["raylet"][0].process.pid: i for i, n in _slot_nodes(cluster).items()}
    busy = {}
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        owner = path.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        try:
            ppid = int(Path(f"/proc/{owner}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid in raylets:
            busy[raylets[ppid]] = int(owner)
    return busy


def test_a_node_removed_mid_sweep_costs_a_retry_not_a_row(
    cluster: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # Two comparisons (latency, and a throughput sweep of batch 1 alone): both nodes measure,
    # each for its whole 4 s budget (a CI target it cannot meet).
    argv = ["run", "tinynet", "-e", "torch", "--mode", "latency", "--mode", "throughput"]
    argv += ["--max-batch", "1", "--budget", "4", "--ci", "0.000001", "--threads", "1"]
    argv += ["--executor", "ray", "--address", cluster.address, "--json", "-"]
    killed: dict[str, Any] = {}

    def remove_a_busy_node() -> None:
        deadline = time.monotonic() + 90
        while len(_busy_raylets(cluster)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        busy = _busy_raylets(cluster)
        if len(busy) == 2:  # both measuring: the first one dies mid-task
            killed["node"] = victim = sorted(busy)[0]
            killed["ray_worker"] = busy[victim]
            cluster.remove_node(_slot_nodes(cluster)[victim], allow_graceful=False)
            killed["at"] = time.monotonic() - started

    remover = threading.Thread(target=remove_a_busy_node)
    started = time.monotonic()
    remover.start()
    code = main(argv)
    elapsed = time.monotonic() - started
    remover.join(timeout=5)
    assert "node" in killed, "both nodes should have been measuring"
    out = capfd.readouterr().out
    records = json.loads(out)  # stdout pure, though Ray announced a dead node meanwhile
    assert code == 0
    survivor = next(iter(set(_slot_nodes(cluster))))
    assert sorted(r["spec"]["mode"] for r in records) == ["latency", "throughput"]
    assert [r["status"] for r in records] == ["ok", "ok"]  # the lost one ran again
    assert {r["timing"]["node"] for r in records} == {survivor}
    assert len(_rows(tmp_path / "cnnbench.db")) == 2  # each once
    # The dead node's Ray worker is gone, and with it its measurement worker (parent death).
    assert not Path(f"/proc/{killed['ray_worker']}").exists()
    print(
        f"\nnode removed at {killed['at']:.1f} s; both records ok on the other at {elapsed:.1f} s"
    )
