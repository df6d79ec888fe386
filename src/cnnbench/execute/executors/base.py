"""The executor protocol: worker tasks in, outcomes out; the parent alone writes the store.

An executor runs independent :class:`WorkerTask` s (one spec each, in a fresh isolated worker)
wherever it runs them (this machine one at a time, or the nodes of a fleet) and yields each
outcome as it finishes, tagged with the task's index. What to run next (interleaved rounds, the
next batch of a throughput sweep, what a resumed sweep skips) is decided in the parent by
:mod:`cnnbench.execute.sweep`, so an executor needs to know nothing but how to run one task.

An executor with several nodes (a fleet) also says which nodes it has (:meth:`Executor.nodes`,
each with its machine fingerprint, for placement and resume), how many groups of tasks may run
at once (:attr:`Executor.slots`), and gives each group a *lane* (:meth:`Executor.lane`): the
tasks of one lane run on one node, so the rounds of a spec and the targets of a comparison are
measured on the same machine. The local executor is one node, one slot, and its own lane.
"""

from __future__ import annotations

import difflib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cnnbench.errors import BadInput
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.spec import RunSpec

LOCAL_NODE = "local"  # the node id of this machine


@dataclass(frozen=True)
class WorkerTask:
    """One spec to measure in one worker, with its timeout (None: the spec's default)."""

    spec: RunSpec
    timeout_s: float | None = None
    label: str = ""  # what a progress line says while it runs
    cost: bool = True  # the worker costs the model (once per spec is enough: see sweep.py)


OnStart = Callable[[WorkerTask], None]


@dataclass(frozen=True)
class Node:
    """A place where workers run: its executor's id, machine fingerprint, labels, resources."""

    id: str
    machine: dict[str, Any]  # cnnbench.system.fingerprint.collect() there, with an "id"
    labels: dict[str, str] = field(default_factory=dict)
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Where:
    """Where a lane may run: pinned to one node, or any of ``candidates`` (None: any node)."""

    node: str | None = None
    candidates: tuple[str, ...] | None = None


class Executor(ABC):
    """Runs worker tasks; yields ``(index, outcome)`` in completion order."""

    name: ClassVar[str]
    slots: int = 1  # groups of tasks that may run at once (a fleet: its measurement slots)

    def nodes(self, here: dict[str, Any]) -> list[Node]:
        """The nodes tasks may run on (``here``: this machine's fingerprint)."""
        return [Node(LOCAL_NODE, here)]

    def lane(self, where: Where) -> Executor:
        """An executor whose tasks all run on one node (chosen by ``where``)."""
        return self

    @abstractmethod
    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        """Run every task once; a failing task is an outcome with its status, never an error."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the executor holds (a cluster connection, say)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_all(
    executor: Executor, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
) -> list[WorkerOutcome]:
    """Every task's outcome, in the tasks' order."""
    outcomes: dict[int, WorkerOutcome] = {}
    for index, outcome in executor.run(tasks, on_start):
        outcomes[index] = outcome
    missing = [i for i in range(len(tasks)) if i not in outcomes]
    if missing:
        raise RuntimeError(f"executor {executor.name} returned no outcome for tasks {missing}")
    return [outcomes[i] for i in range(len(tasks))]


_EXECUTORS: dict[str, Callable[..., Executor]] = {}


def register_executor(name: str, factory: Callable[..., Executor]) -> None:
    """``factory(**options)`` makes the executor; options it does not take are refused."""
    _EXECUTORS[name] = factory


def executor_names() -> list[str]:
    _load_builtin()
    return sorted(_EXECUTORS)


def get_executor(name: str, **options: str | None) -> Executor:
    """A new executor by name, with its options (``address`` for ``ray``; None: not given).
    An unknown name, an option the executor does not take or a bad value is a
    :class:`BadInput`; nothing is connected or started yet."""
    _load_builtin()
    factory = _EXECUTORS.get(name)
    if factory is None:
        close = difflib.get_close_matches(name, list(_EXECUTORS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"unknown executor {name!r}{hint} (known: {', '.join(sorted(_EXECUTORS))})")
    given = {k: v for k, v in options.items() if v is not None}
    try:
        inspect.signature(factory).bind(**given)
    except TypeError:
        raise BadInput(
            f"executor {name} takes no option {', '.join('--' + k for k in sorted(given))}"
        ) from None
    return factory(**given)


def _load_builtin() -> None:
    from cnnbench.execute.executors import local, ray  # noqa: F401
