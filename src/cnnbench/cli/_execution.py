"""Running planned specs from a subcommand: executor, store, progress bar on stderr."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cnnbench.cli._common import check_store, environment, err, open_store
from cnnbench.spec import RunSpec


def check_executor(name: str, **options: str | None) -> None:
    """An unknown executor, or an option it does not take or a bad value, is a BadInput
    (before anything runs; nothing is connected or started)."""
    from cnnbench.execute.executors import get_executor

    get_executor(name, **options)


@contextlib.contextmanager
def measuring(executor: Any, *, time_left: bool = False) -> Iterator[Any]:
    """The executor open and a progress bar on stderr while workers run; nothing reaches
    stdout meanwhile (it carries ``--json -`` alone, and a fleet executor's library prints its
    news of a dead node to sys.stdout)."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ]
    if time_left:
        columns += [TextColumn("left"), TimeRemainingColumn()]
    with (
        contextlib.redirect_stdout(sys.stderr),
        executor,
        Progress(*columns, console=err, transient=True) as progress,
    ):
        yield progress


def execute_with_progress(
    args: argparse.Namespace,
    specs: Sequence[RunSpec],
    *,
    executor_name: str = "local",
    executor_options: dict[str, str | None] | None = None,
    resume: bool = False,
    rounds: int | None = None,
    timeout_s: float | None = None,
) -> tuple[Any, Path]:
    """Measure ``specs`` (storing each record in the store of ``args``) with a progress bar;
    the :class:`~cnnbench.execute.run.Execution` and the store's path."""
    from cnnbench.execute.executors import get_executor
    from cnnbench.execute.run import Skipped, execute

    check_store(args)
    executor = get_executor(executor_name, **(executor_options or {}))
    store = open_store(args)
    env = environment()
    with measuring(executor) as progress:
        task = progress.add_task("measuring", total=len(specs))

        def done(rec: Any) -> None:
            progress.update(task, advance=1)

        def skipped(skip: Skipped) -> None:
            progress.update(task, advance=1)
            s = skip.spec
            err.print(
                f"{s.model.name} on {s.target.engine} ({s.mode}): "
                f"skipped (already measured: {skip.run_id})",
                soft_wrap=True,
            )

        def step(message: str) -> None:
            progress.update(task, description=message)

        try:
            result = execute(
                specs,
                store,
                env,
                executor=executor,
                resume=resume,
                rounds=rounds,
                timeout_s=timeout_s,
                on_done=done,
                on_skip=skipped,
                progress=step,
            )
        finally:
            store.close()
    return result, store.path
