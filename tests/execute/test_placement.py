"""Placement on an executor's nodes (no Ray needed): node selections, ``each``, resume keys per
machine, lanes that follow their first task's node."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cnnbench.errors import BadInput
from cnnbench.execute.executors.base import Executor, Node, OnStart, Where, WorkerTask
from cnnbench.execute.executors.local import LocalExecutor
from cnnbench.execute.placement import group_placements, place
from cnnbench.execute.run import execute
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.records import Environment
from cnnbench.report.tables import runs_table
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from cnnbench.system.fingerprint import collect, software_versions

QUICK = Budget(seconds=0.05, min_samples=3, warmup_max_s=0.05)


def _machine(mid: str, cpu: str, gpus: int = 0, isa: Sequence[str] = ("avx2",)) -> dict[str, Any]:
    return {
        "id": mid,
        "hostname": f"host-{mid}",
        "cpu_model": cpu,
        "isa": list(isa),
        "gpus": [{"name": "NVIDIA H100"}] * gpus,
    }


NODES = [
    Node("n1", _machine("m1", "AMD EPYC 9654"), {"zone": "a"}, {"cnnbench_slot": 1.0}),
    Node("n2", _machine("m2", "Intel Xeon 8480", gpus=1, isa=("avx2", "amx_tile")), {}, {}),
    Node("n3", _machine("m3", "AMD EPYC 7763"), {"zone": "b"}, {"fast_disk": 1.0}),
    Node("n3b", _machine("m3", "AMD EPYC 7763"), {}, {}),  # a second node of machine m3
]


def _spec(batch: int = 1, node: tuple[tuple[str, str], ...] = (), **kw: Any) -> RunSpec:
    target = Target("torch", threads=1, node=node, **kw)
    return RunSpec(ModelRef("tinynet"), (3, 32, 32), batch, target, budget=QUICK)


@pytest.mark.parametrize(
    ("selection", "where", "machines"),
    [
        ((), Where(), ("m1", "m2", "m3")),
        ((("cpu", "epyc"),), Where(candidates=("n1", "n3", "n3b")), ("m1", "m3")),
        ((("gpu", "true"),), Where(node="n2"), ("m2",)),
        ((("gpu", "false"), ("cpu", "9654")), Where(node="n1"), ("m1",)),
        ((("isa", "amx_tile"),), Where(node="n2"), ("m2",)),
        ((("resource", "fast_disk"),), Where(node="n3"), ("m3",)),
        ((("label.zone", "b"),), Where(node="n3"), ("m3",)),
        ((("machine", "m3"),), Where(candidates=("n3", "n3b")), ("m3",)),
        ((("host", "host-m1"),), Where(node="n1"), ("m1",)),
    ],
)
def test_a_selection_places_a_spec_on_its_matching_nodes(
    selection: tuple[tuple[str, str], ...], where: Where, machines: tuple[str, ...]
) -> None:
    (p,) = place([_spec(node=selection)], NODES)
    assert p.where == where and p.machines == machines


def test_each_is_one_placement_per_machine() -> None:
    placed = place([_spec(node=(("each", "true"),))], NODES)
    assert [(p.where.node, p.machines) for p in placed] == [
        ("n1", ("m1",)),
        ("n2", ("m2",)),
        ("n3", ("m3",)),  # n3b is the same machine: measured once
    ]
    placed = place([_spec(node=(("each", "true"), ("cpu", "EPYC")))], NODES)
    assert [p.where.node for p in placed] == ["n1", "n3"]


def test_a_selection_nothing_matches_is_bad_input_naming_the_nodes() -> None:
    with pytest.raises(BadInput, match=r"no node matches the node selection gpu=true .*EPYC"):
        place([_spec(node=(("gpu", "true"),))], NODES[:1])
    with pytest.raises(BadInput, match="unknown node selection key 'colour'"):
        _spec(node=(("colour", "red"),))


def test_the_node_selection_is_not_the_identity_but_travels_with_the_spec() -> None:
    plain, placed = _spec(), _spec(node=(("cpu", "EPYC"), ("each", "true")))
    assert plain.spec_hash() == placed.spec_hash()
    assert RunSpec.from_dict(placed.to_dict()) == placed
    assert placed.to_dict()["node"] == {"cpu": "EPYC", "each": "true"}


def test_groups_pinned_to_different_nodes_are_interleaved() -> None:
    specs = [_spec(b, node=(("each", "true"), ("cpu", "EPYC"))) for b in (1, 2)]
    groups = group_placements(place(specs, NODES))
    assert [(w.node, [s.batch for s in g]) for w, g in groups] == [
        ("n1", [1]),
        ("n3", [1]),
        ("n1", [2]),
        ("n3", [2]),
    ]
    # A comparison cut into chunks of one target.
    two = [_spec(1), _spec(1, isa=None, streams=2)]
    assert [len(g) for _, g in group_placements(place(two, NODES), group_size=1)] == [1, 1]


class _FakeOwner:
    """Stands in for RayExecutor under a lane: records where each task was sent."""

    def __init__(self) -> None:
        self.sent: list[Where] = []

    def _connect(self) -> None:
        pass

    def _submit(self, task: WorkerTask, where: Where, on_start: OnStart | None) -> int:
        self.sent.append(where)
        return len(self.sent) - 1

    def _gather(self, refs: dict[int, tuple[int, Where]]) -> Iterator[tuple[int, WorkerOutcome]]:
        for index, where in refs.values():
            node = where.node or "found-n7"  # an unpinned task lands somewhere
            yield index, WorkerOutcome("ok", {}, None, 0, 0.0, "", node=node)


def test_a_lane_sends_its_first_task_anywhere_and_the_rest_where_it_ran() -> None:
    pytest.importorskip("ray")
    from cnnbench.execute.executors.ray import _Lane

    owner = _FakeOwner()
    lane = _Lane(owner, Where(candidates=("n1", "n7")))  # type: ignore[arg-type]
    tasks = [WorkerTask(_spec(b)) for b in (1, 2, 3)]
    assert sorted(i for i, _ in lane.run(tasks)) == [0, 1, 2]
    assert list(lane.run(tasks[:1])) and owner.sent == [
        Where(candidates=("n1", "n7")),
        Where(node="found-n7"),
        Where(node="found-n7"),
        Where(node="found-n7"),  # the next round too
    ]


class TwoMachines(Executor):
    """Two 'machines' on this one: each lane runs real workers here and labels its outcomes
    with its node's fingerprint, as a fleet node does."""

    name = "two-machines"

    def __init__(self, here: dict[str, Any], extra: int = 0) -> None:
        ids = ["fleet-a", "fleet-b", "fleet-c"][: 2 + extra]
        self.fleet = [Node(i, {**here, "id": i, "hostname": i}) for i in ids]
        self.inner = LocalExecutor()

    def nodes(self, here: dict[str, Any]) -> list[Node]:
        return self.fleet

    def lane(self, where: Where) -> Executor:
        node = next(n for n in self.fleet if n.id == (where.node or self.fleet[0].id))
        return _Tagged(self.inner, node)

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        return self.lane(Where()).run(tasks, on_start)


class _Tagged(Executor):
    name = "tagged"

    def __init__(self, inner: Executor, node: Node) -> None:
        self.inner, self.node = inner, node

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        for i, o in self.inner.run(tasks, on_start):
            yield i, replace(o, node=self.node.id, machine=self.node.machine, software={})


def test_resume_across_a_fleet_skips_per_machine(tmp_path: Path) -> None:
    here = collect()
    env = Environment(here, software_versions())
    spec = _spec(node=(("each", "true"),))
    with Store(tmp_path / "fleet.db") as store:
        first = execute([spec], store, env, executor=TwoMachines(here))
        assert sorted(r.machine["id"] for r in first.records) == ["fleet-a", "fleet-b"]
        assert [r.timing.rounds[0].node for r in first.records] == ["fleet-a", "fleet-b"]
        assert all(r.status == "ok" for r in first.records)
        # The run's table names the machine of each row once records span several.
        table = runs_table(first.records)
        assert [c.header for c in table.columns][:3] == ["model", "engine", "machine"]
        assert list(table.columns[2].cells) == ["fleet-a", "fleet-b"]
        assert "machine" not in [c.header for c in runs_table(first.records[:1]).columns]
        again = execute([spec], store, env, executor=TwoMachines(here), resume=True)
        assert again.records == () and len(again.skipped) == 2
        # A machine joins: only it measures the spec.
        grown = execute([spec], store, env, executor=TwoMachines(here, extra=1), resume=True)
        assert [r.machine["id"] for r in grown.records] == ["fleet-c"]
        assert len(grown.skipped) == 2
        # Without each, a spec measured on any of its machines is done.
        anywhere = execute([_spec()], store, env, executor=TwoMachines(here), resume=True)
        assert anywhere.records == () and len(anywhere.skipped) == 1
        assert store.count() == 3
