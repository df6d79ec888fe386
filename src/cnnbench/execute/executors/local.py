"""The default executor: one worker at a time on this machine (timings never overlap)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from cnnbench.execute.executors.base import Executor, OnStart, WorkerTask, register_executor
from cnnbench.measure.forkserver import TemplatePool
from cnnbench.measure.isolation import WorkerOutcome
from cnnbench.measure.launch import run_spec


class LocalExecutor(Executor):
    """Runs each task in a fresh worker here, one after the other, in the given order
    (forked from a pre-imported template unless ``warm`` is False)."""

    name = "local"

    def __init__(self, *, warm: bool = True) -> None:
        self.warm = warm  # fork workers from pre-imported templates (measure.forkserver)
        self.pool = TemplatePool() if warm else None  # its templates, ended by close()

    def run(
        self, tasks: Sequence[WorkerTask], on_start: OnStart | None = None
    ) -> Iterator[tuple[int, WorkerOutcome]]:
        for index, task in enumerate(tasks):
            if on_start is not None:
                on_start(task)
            yield (
                index,
                run_spec(task.spec, task.timeout_s, cost=task.cost, warm=self.warm, pool=self.pool),
            )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


register_executor("local", LocalExecutor)
