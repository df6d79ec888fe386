"""Where each spec is measured: a target's node selection against an executor's nodes.

A target may say where it runs (``Target.node``, docs/fleet.md): what a node must match
(``machine`` id prefix, ``host``, ``cpu`` substring of the CPU model, an ``isa`` flag, ``gpu``
true/false, a Ray ``resource`` the node offers, ``label.KEY`` a Ray node label) and whether the
spec is measured once on any one matching node (the default) or once on ``each`` matching
machine. The nodes are the executor's (the local executor: this machine alone), read once when
an execution starts.

Resume keys follow the machine: a spec placed on any matching node is done when one of their
machines has an ``ok`` record of it; a spec placed on each machine is done per machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cnnbench.errors import BadInput
from cnnbench.execute.executors.base import Node, Where
from cnnbench.results.record import run_key
from cnnbench.spec import NODE_LABEL_PREFIX, RunSpec
from cnnbench.store.sqlite import Store


@dataclass(frozen=True)
class Placement:
    """A spec, where its lane may run, and the machines (ids) it may be measured on."""

    spec: RunSpec
    where: Where
    machines: tuple[str, ...]


def node_matches(selection: Sequence[tuple[str, str]], node: Node) -> bool:
    """Whether ``node`` meets every condition of a node selection (``each`` is no condition)."""
    m = node.machine
    for key, value in selection:
        if key == "each":
            continue
        if key == "machine":
            ok = str(m.get("id", "")).startswith(value)
        elif key == "host":
            ok = m.get("hostname") == value
        elif key == "cpu":
            ok = value.lower() in str(m.get("cpu_model", "")).lower()
        elif key == "isa":
            ok = value in (m.get("isa") or [])
        elif key == "gpu":
            ok = bool(m.get("gpus")) == (value == "true")
        elif key == "resource":
            ok = node.resources.get(value, 0.0) > 0
        elif key.startswith(NODE_LABEL_PREFIX):
            ok = node.labels.get(key[len(NODE_LABEL_PREFIX) :]) == value
        else:  # Target refuses other keys; a selection built around it matches nothing
            ok = False
        if not ok:
            return False
    return True


def describe_nodes(nodes: Sequence[Node]) -> str:
    """The nodes in a few words each, for an error message."""
    return "; ".join(
        f"{n.id[:12]} {n.machine.get('hostname', '?')} ({n.machine.get('cpu_model', '?')})"
        for n in nodes
    )


def place(specs: Sequence[RunSpec], nodes: Sequence[Node]) -> list[Placement]:
    """Each spec placed on its matching nodes; ``each`` makes one placement per machine.
    A selection that no node matches is a :class:`BadInput` (before anything runs)."""
    if not nodes:
        raise BadInput("the executor has no node to run on")
    out: list[Placement] = []
    for spec in specs:
        selection = spec.target.node
        matching = [n for n in nodes if node_matches(selection, n)]
        if not matching:
            shown = ", ".join(f"{k}={v}" for k, v in selection)
            raise BadInput(
                f"no node matches the node selection {shown} of {spec.model.name} on "
                f"{spec.target.engine} (nodes: {describe_nodes(nodes)})"
            )
        if dict(selection).get("each") == "true":
            seen: dict[str, Node] = {}
            for n in matching:  # one node per machine (two nodes of one machine: the first)
                seen.setdefault(str(n.machine["id"]), n)
            out += [Placement(spec, Where(node=n.id), (m,)) for m, n in seen.items()]
            continue
        machines = tuple(dict.fromkeys(str(n.machine["id"]) for n in matching))
        if len(matching) == len(nodes) and not [k for k, _ in selection if k != "each"]:
            where = Where()  # any node, including nodes that join later
        elif len(matching) == 1:
            where = Where(node=matching[0].id)
        else:
            where = Where(candidates=tuple(n.id for n in matching))
        out.append(Placement(spec, where, machines))
    return out


def split_done(
    placements: Sequence[Placement], store: Store
) -> tuple[list[Placement], list[tuple[Placement, str]]]:
    """Placements still to measure, and those with an ok record on one of their machines (with
    that record's id)."""
    keys = {p: [run_key(p.spec.spec_hash(), m) for m in p.machines] for p in placements}
    done = store.ok_run_ids([k for ks in keys.values() for k in ks])
    todo: list[Placement] = []
    skipped: list[tuple[Placement, str]] = []
    for p in placements:
        found = next((done[k] for k in keys[p] if k in done), None)
        if found is None:
            todo.append(p)
        else:
            skipped.append((p, found))
    return todo, skipped


def group_placements(
    placements: Sequence[Placement], group_size: int | None = None
) -> list[tuple[Where, list[RunSpec]]]:
    """Comparisons (specs that differ only in their target) placed alike, in order of first
    appearance, cut into chunks of ``group_size`` targets; groups pinned to different nodes are
    interleaved so that parallel lanes start on different nodes."""
    groups: dict[tuple[object, ...], tuple[Where, list[RunSpec]]] = {}
    for p in placements:
        groups.setdefault((p.spec.comparison_key(), p.where), (p.where, []))[1].append(p.spec)
    cut: list[tuple[Where, list[RunSpec]]] = []
    for where, specs in groups.values():
        size = group_size or len(specs)
        cut += [(where, specs[i : i + size]) for i in range(0, len(specs), size)]
    by_node: dict[str | None, list[tuple[Where, list[RunSpec]]]] = {}
    for item in cut:
        by_node.setdefault(item[0].node, []).append(item)
    out: list[tuple[Where, list[RunSpec]]] = []
    queues = list(by_node.values())
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out
