"""Executors run worker tasks (here, or on a fleet); the parent alone writes the store."""

from cnnbench.execute.executors.base import (
    Executor,
    WorkerTask,
    executor_names,
    get_executor,
    run_all,
)

__all__ = ["Executor", "WorkerTask", "executor_names", "get_executor", "run_all"]
