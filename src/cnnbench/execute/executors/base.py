"""The executor protocol: worker tasks in, outcomes out; the parent alone writes the store.

An executor runs independent :class:`WorkerTask` s (one spec each, in a fresh isolated worker)
wherever it runs them (this machine one at a time, or the nodes of a fleet) and yields each
outcome as it finishes, tagged with the task's index. What to run next (interleaved rounds, the
next batch of a throughput sweep, what a resumed sweep skips) is decided in the parent by
:mod:`cnnbench.execute.sweep`, so an executor needs to know nothing but how to run one task.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from cnnbench.errors import BadInput
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.spec import RunSpec


@dataclass(frozen=True)
class WorkerTask:
    """One spec to measure in one worker, with its timeout (None: the spec's default)."""

    spec: RunSpec
    timeout_s: float | None = None
    label: str = ""  # what a progress line says while it runs
    cost: bool = True  # the worker costs the model (once per spec is enough: see sweep.py)


OnStart = Callable[[WorkerTask], None]


class Executor(ABC):
    """Runs worker tasks; yields ``(index, outcome)`` in completion order."""

    name: ClassVar[str]

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


_EXECUTORS: dict[str, Callable[[], Executor]] = {}


def register_executor(name: str, factory: Callable[[], Executor]) -> None:
    _EXECUTORS[name] = factory


def executor_names() -> list[str]:
    _load_builtin()
    return sorted(_EXECUTORS)


def get_executor(name: str) -> Executor:
    """A new executor by name; an unknown name is a :class:`BadInput` listing the known ones."""
    _load_builtin()
    factory = _EXECUTORS.get(name)
    if factory is None:
        close = difflib.get_close_matches(name, list(_EXECUTORS), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"unknown executor {name!r}{hint} (known: {', '.join(sorted(_EXECUTORS))})")
    return factory()


def _load_builtin() -> None:
    from cnnbench.execute.executors import local  # noqa: F401
