"""What every subcommand shares: the consoles, argument types, the JSON writer, the store."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from cnnbench.errors import BadInput

out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one-line :class:`BadInput` (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {message}")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def emit_json(obj: Any, dest: str) -> None:
    """The one JSON writer of ``--json FILE`` (``-``: stdout, which then holds only JSON)."""
    text = json.dumps(obj, indent=1, sort_keys=True) + "\n"
    if dest == "-":
        sys.stdout.write(text)
        return
    try:
        Path(dest).write_text(text)
    except OSError as exc:
        raise BadInput(f"cannot write {dest}: {exc.strerror}") from None


def tables_console(args: argparse.Namespace) -> Console:
    """Where tables go: stdout, or stderr when stdout carries ``--json -``."""
    return err if getattr(args, "json", None) == "-" else out


def open_store(args: argparse.Namespace, create: bool = True) -> Any:
    from cnnbench.store.sqlite import Store

    return Store(args.db, create=create)


def environment() -> Any:
    from cnnbench.measure.records import Environment
    from cnnbench.system.fingerprint import collect, software_versions

    return Environment(collect(), software_versions())


def shape_arg(text: str | None) -> tuple[int, ...] | None:
    from cnnbench.cli._args import parse_shape

    return parse_shape(text) if text else None
