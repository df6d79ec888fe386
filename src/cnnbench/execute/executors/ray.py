"""The ``ray`` executor: worker tasks on the nodes of a Ray cluster, one measurement per node.

Each :class:`WorkerTask` becomes a Ray task that needs one unit of the custom resource
``cnnbench_slot``; every node offers exactly one (``ray start --resources='{"cnnbench_slot":
1}'``), so Ray never runs two measurements on one node. The task runs the same isolated worker
as the local executor (:func:`cnnbench.measure.launch.run_spec`: a fresh child process with its
thread counts, affinity and ISA caps, killed with its process group on a timeout, dying with its
parent) and sends back the outcome with the node's id, machine fingerprint and software
versions, which the record takes instead of the parent's.

A lane (:meth:`RayExecutor.lane`) keeps a group's tasks on one node: its first task goes to any
node its placement allows, the others follow it there (``NodeAffinitySchedulingStrategy``), so
the rounds of a spec and the targets of a comparison share a machine. A task whose node dies is
retried once by Ray (elsewhere, unless its lane is pinned); a task that no live node can take is
cancelled. Either way the parent gets one outcome per task (``crashed`` when it never finished),
and the parent alone writes the store.

Without an address the executor starts a local Ray with one slot (for trying it on one machine).
Ray's own output never reaches stdout (``log_to_driver=False``, errors only, to stderr).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.execute.executors.base import (
    Executor,
    Node,
    OnStart,
    Where,
    WorkerTask,
    register_executor,
)
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.spec import RunSpec

SLOT = "cnnbench_slot"  # the custom resource: one per node, one per measurement
NODE_ID_LABEL = "ray.io/node-id"  # Ray's own label of every node (label selectors)
RETRIES = 1  # a task whose node (or Ray worker) died runs once more
POLL_S = 1.0  # how often a waiting lane looks up (closing, stranded tasks)
CHECK_S = 5.0  # how often pending tasks are checked against the live nodes
NO_NODE_GRACE_S = 60.0  # an unplaced task waits this long for a slot node to (re)appear
CONNECT_TIMEOUT_S = 5.0  # a head that does not answer a TCP connect in this time is no cluster
FINGERPRINT_TIMEOUT_S = 120.0  # each node's fingerprint task (a fresh Ray worker starts)
INSTALL_HINT = "pip install 'cnnbench[fleet]'"
_HOST_PORT = re.compile(r"^(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d+)$")


def ray_missing() -> str | None:
    """Why the ray executor cannot run here (None: Ray imports)."""
    if importlib.util.find_spec("ray") is None:
        return f"the ray executor needs Ray, which is not installed ({INSTALL_HINT})"
    return None


def check_address(address: str | None) -> str | None:
    """None (start a local Ray), ``auto`` (the cluster this machine belongs to) or
    ``HOST:PORT`` of the head node's GCS; anything else is a :class:`BadInput`."""
    if address is None or address == "auto":
        return address
    m = _HOST_PORT.match(address) if isinstance(address, str) else None
    port = int(m.group("port")) if m else 0
    if m is None or not 1 <= port <= 65535 or len(address) > 300:
        raise BadInput(
            f"--address {address!r:.80}: expected auto or HOST:PORT of the Ray head "
            "(e.g. 10.0.0.5:6379)"
        )
    return address


def _reachable(address: str) -> None:
    """A :class:`BadInput` when nothing listens at ``HOST:PORT`` (Ray would retry for minutes)."""
    m = _HOST_PORT.match(address)
    assert m is not None
    host = m.group("ip6") or m.group("host")
    try:
        socket.create_connection((host, int(m.group("port"))), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise BadInput(f"no Ray cluster answers at {address} ({exc.strerror or exc})") from None


def _crashed(error: str, node: str | None = None) -> WorkerOutcome:
    return WorkerOutcome("crashed", {}, error, None, 0.0, "", time.time(), node=node)


def restore_node_env() -> None:
    """Undo what a Ray worker adds to the environment the measurement inherits: Ray sets
    ``OMP_NUM_THREADS`` (to 1 for a task without CPUs) when the node's raylet had none, which
    would cap an engine's default thread count. The raylet's own environment tells."""
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            raylet = {e.split(b"=", 1)[0] for e in f.read().split(b"\0") if b"=" in e}
    except OSError:
        return  # not Linux: leave it (Target.threads sets the count explicitly)
    if b"OMP_NUM_THREADS" not in raylet:
        os.environ.pop("OMP_NUM_THREADS", None)


# Settings the parent passes to its workers through the environment (an energy probe's idle
# time and TDP, a counters timeout, cold starts): the same on every node as on this machine.
FORWARDED_ENV_PREFIX = "CNNBENCH_"
NOT_FORWARDED = frozenset({"CNNBENCH_DB", "CNNBENCH_CACHE", "CNNBENCH_POWERCAP_ROOT"})


def forwarded_env() -> dict[str, str]:
    """The parent's cnnbench settings a node's worker must see (not paths of this machine)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(FORWARDED_ENV_PREFIX) and k not in NOT_FORWARDED
    }


def measure_on_node(
    spec: dict[str, Any], timeout_s: float | None, cost: bool, env: dict[str, str] | None = None
) -> WorkerOutcome:
    """The Ray task: one spec in one isolated worker on this node, with where it ran."""
    import ray

    from cnnbench.measure.launch import run_spec
    from cnnbench.system.fingerprint import collect, software_versions

    restore_node_env()
    os.environ.update(env or {})
    outcome = run_spec(RunSpec.from_dict(spec), timeout_s, cost=cost)
    node = ray.get_runtime_context().get_node_id()
    return replace(outcome, node=node, machine=collect(), software=software_versions())


def node_fingerprint() -> tuple[str, dict[str, Any]]:
    """The Ray task that reads a node's machine fingerprint."""
    import ray

    from cnnbench.system.fingerprint import collect

    return ray.get_runtime_context().get_node_id(), collect()


_remote_fns: dict[str, Any] = {}


def _remote(fn: Any) -> Any:
    import ray

    if fn.__name__ not in _remote_fns:
        _remote_fns[fn.__name__] = ray.remote(fn)
    return _remote_fns[fn.__name__]


def _live_slot_nodes() -> set[str]:
    import ray

    return {n["NodeID"] for n in ray.nodes() if n.get("Alive") and n["Resources"].get(SLOT)}


def _stranded(where: Where, alive: set[str], no_node_since: float | None) -> str | None:
    """Why a pending task can never run (None: it may yet)."""
    allowed = {where.node} if where.node else set(where.candidates or ())
    if allowed and not allowed & alive:
        return "no live node of its placement is left in the Ray cluster"
    if not allowed and no_node_since and time.monotonic() - no_node_since > NO_NODE_GRACE_S:
        return f"no slot node in the Ray cluster for {NO_NODE_GRACE_S:g} s"
    return None


class RayExecutor(Executor):
    """Tasks on the ``cnnbench_slot`` nodes of a Ray cluster (connected on first use)."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        self.address = check_address(address)
        missing = ray_missing()
        if missing:
            raise BadInput(missing)
        self._connected = False
        self._owned = False  # we connected (or started) Ray, so we disconnect at close
        self._nodes: list[Node] | None = None
        self._closing = threading.Event()

    # -- the cluster ---------------------------------------------------------------------------

    def _connect(self) -> None:
        import ray

        if self._connected:
            return
        if self._closing.is_set():
            raise RuntimeError("the ray executor is closed")
        if not ray.is_initialized():
            opts: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
            if self.address is None:  # a local Ray for this invocation, one slot
                ray.init(address="local", resources={SLOT: 1}, include_dashboard=False, **opts)
            else:
                if self.address != "auto":
                    _reachable(self.address)
                try:
                    ray.init(address=self.address, **opts)
                except ConnectionError as exc:
                    raise BadInput(f"--address {self.address}: {str(exc)[:200]}") from None
            self._owned = True
        self._connected = True

    def nodes(self, here: dict[str, Any]) -> list[Node]:
        """The live nodes offering a slot, each with the fingerprint it reports (read once)."""
        if self._nodes is not None:
            return self._nodes
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._connect()
        live = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get(SLOT)]
        if not live:
            raise BadInput(
                f"no node of the Ray cluster offers a {SLOT} (start each node with "
                f"ray start ... --resources='{{\"{SLOT}\": 1}}'; docs/fleet.md)"
            )
        for n in live:
            if n["Resources"][SLOT] != 1:
                raise BadInput(
                    f"Ray node {n['NodeID'][:12]} offers {n['Resources'][SLOT]:g} {SLOT}; each "
                    "node must offer exactly one (two measurements would share it)"
                )
        fp = _remote(node_fingerprint)
        refs = [
            fp.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            ).remote()
            for n in live
        ]
        ready, late = ray.wait(refs, num_returns=len(refs), timeout=FINGERPRINT_TIMEOUT_S)
        for ref in late:
            ray.cancel(ref, force=True)
        prints: dict[str, dict[str, Any]] = {}
        for ref in ready:
            try:
                node_id, machine = ray.get(ref)
            except ray.exceptions.RayError:
                continue  # a node that died since: left out
            prints[node_id] = machine
        self._nodes = [
            Node(
                n["NodeID"],
                prints[n["NodeID"]],
                {k: str(v) for k, v in (n.get("Labels") or {}).items()},
                {k: float(v) for k, v in n["Resources"].items()},
            )
            for n in live
            if n["NodeID"] in prints
        ]
        if not self._nodes:
            raise BadInput("no slot node of the Ray cluster answered (docs/fleet.md)")
        self.slots = len(self._nodes)
        return self._nodes

    def close(self) -> None:
        self._closing.set()
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False

    # -- tasks ---------------------------------------------------------------------------------

    def lane(self, where: Where) -> Executor:
        return _Lane(self, where)

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        """Independent tasks, each on any slot node."""
        self._connect()
        refs = {self._submit(t, Where(), on_start): (i, Where()) for i, t in enumerate(tasks)}
        yield from self._gather(refs)

    def _submit(self, task: WorkerTask, where: Where, on_start: OnStart | None) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        opts: dict[str, Any] = {
            "num_cpus": 0,  # the slot is the reservation; Ray's CPU count plays no part
            "resources": {SLOT: 1},
            "max_retries": RETRIES,
            "retry_exceptions": False,  # only a dead node or Ray worker; a failure is an outcome
        }
        if where.node is not None:
            opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(where.node, soft=False)
        elif where.candidates is not None:
            opts["label_selector"] = {NODE_ID_LABEL: f"in({','.join(where.candidates)})"}
        if on_start is not None:
            on_start(task)  # submitted: it starts when its node's slot is free
        return (
            _remote(measure_on_node)
            .options(**opts)
            .remote(task.spec.to_dict(), task.timeout_s, task.cost, forwarded_env())
        )

    def _gather(self, refs: dict[Any, tuple[int, Where]]) -> Iterator[tuple[int, WorkerOutcome]]:
        """Outcomes in completion order; a task no live node can take is cancelled."""
        import ray

        reasons: dict[Any, str] = {}
        checked = time.monotonic()
        no_node_since: float | None = None
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=POLL_S)
            for ref in ready:
                index, _where = refs.pop(ref)
                yield index, self._outcome(ref, reasons.pop(ref, None))
            if ready:
                continue
            if self._closing.is_set():
                for ref in refs:
                    ray.cancel(ref, force=True)
                raise RuntimeError("the ray executor was closed with tasks in flight")
            if time.monotonic() - checked < CHECK_S:
                continue
            checked = time.monotonic()
            alive = _live_slot_nodes()
            no_node_since = (no_node_since or checked) if not alive else None
            for ref, (_i, where) in refs.items():
                reason = None if ref in reasons else _stranded(where, alive, no_node_since)
                if reason is not None:
                    reasons[ref] = reason
                    ray.cancel(ref, force=True)

    @staticmethod
    def _outcome(ref: Any, reason: str | None) -> WorkerOutcome:
        import ray

        try:
            outcome = ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return _crashed(f"ray: cancelled: {reason or 'by Ray'}")
        except ray.exceptions.RayError as exc:
            text = str(exc).strip().splitlines()
            first = next((line for line in text if line.strip()), "")
            return _crashed(f"ray: {type(exc).__name__}: {first[:300]}")
        if not isinstance(outcome, WorkerOutcome):
            return _crashed(f"ray: the task returned {type(outcome).__name__}, not an outcome")
        return outcome


class _Lane(Executor):
    """One group's tasks on one node: the first finds it, the rest follow."""

    name = "ray"

    def __init__(self, owner: RayExecutor, where: Where) -> None:
        self.owner = owner
        self.where = where

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        self.owner._connect()
        pending = list(enumerate(tasks))
        while pending and self.where.node is None:
            index, task = pending.pop(0)
            ref = self.owner._submit(task, self.where, on_start)
            for done in self.owner._gather({ref: (index, self.where)}):
                if done[1].node is not None:  # it ran there: the lane stays there
                    self.where = Where(node=done[1].node)
                yield done
        refs = {
            self.owner._submit(task, self.where, on_start): (index, self.where)
            for index, task in pending
        }
        yield from self.owner._gather(refs)


register_executor("ray", RayExecutor)
