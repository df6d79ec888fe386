"""What every subcommand shares: the consoles, argument types, the JSON writer, the store."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from cnnbench.errors import BadInput
from cnnbench.spec import FloatRange, IntRange

# Off a terminal (a pipe, a file, a test) tables are not cut to 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 240)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one-line :class:`BadInput` (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{self.prog}: {' '.join(message.split())}")


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, shortened in the middle when long."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[: limit - 20] + "..." + text[-12:]) + f" ({len(text)} characters)"


def text_arg(text: str) -> str:
    """Any word the user types: not empty, not blank, no NUL character."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value is not allowed")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{shown(text)} holds a NUL character")
    return text


def int_in(limits: IntRange) -> Callable[[str], int]:
    """An argument type: an integer within ``limits`` (checked as the command line is parsed)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not limits.contains(value):
            raise argparse.ArgumentTypeError(f"{shown(text, 40)} is not {limits}")
        return value

    parse.__name__ = "integer"
    return parse


def float_in(limits: FloatRange) -> Callable[[str], float]:
    """An argument type: a finite number within ``limits`` (no inf, nan or 1e999)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not limits.contains(value):
            raise argparse.ArgumentTypeError(f"{shown(text, 40)} is not {limits}")
        return value

    parse.__name__ = "number"
    return parse


def emit_json(obj: Any, dest: str) -> None:
    """The one JSON writer of ``--json FILE`` (``-``: stdout, which then holds only JSON)."""
    try:
        text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as exc:  # NaN or Infinity: never written, as the exchange format says
        raise BadInput(f"cannot write JSON: {exc}") from None
    if dest == "-":
        sys.stdout.write(text)
        return
    try:
        Path(dest).write_text(text)
    except OSError as exc:
        raise BadInput(f"--json: cannot write {shown(dest)}: {exc.strerror or exc}") from None


def tables_console(args: argparse.Namespace) -> Console:
    """Where tables go: stdout, or stderr when stdout carries ``--json -``."""
    return err if getattr(args, "json", None) == "-" else out


def store_path(args: argparse.Namespace) -> Path:
    """The store this command uses: ``--db``, else ``$CNNBENCH_DB``, else ``./cnnbench.db``."""
    from cnnbench.store.sqlite import default_path

    db = getattr(args, "db", None)
    return Path(db) if db is not None else default_path()


def _store_flag(args: argparse.Namespace) -> str:
    return "--db" if getattr(args, "db", None) is not None else "the store ($CNNBENCH_DB)"


def check_store(args: argparse.Namespace, *, missing_ok: bool = False) -> bool:
    """Refuse a store path that cannot be used, before anything is measured or read.

    An existing file is opened (which checks it is an intact cnnbench store) and closed again;
    a missing one is never created here, but its folder must be writable unless ``missing_ok``.
    Returns whether the store exists.
    """
    from cnnbench.cli._args import check_store_path

    path = store_path(args)
    exists = check_store_path(path, _store_flag(args), create=True, missing_ok=missing_ok)
    if exists:
        open_store(args, create=False).close()
    return exists


def open_store(args: argparse.Namespace, create: bool = True) -> Any:
    from cnnbench.cli._args import check_store_path
    from cnnbench.store.sqlite import Store

    path = store_path(args)
    check_store_path(path, _store_flag(args), create=create)
    return Store(path, create=create)


def check_outputs(args: argparse.Namespace) -> None:
    """Every output file a command was given (``--json FILE``, ``-o FILE``) must be writable
    and must not be the store itself; checked before the command does anything."""
    from cnnbench.cli._args import check_output_path, same_file

    for attr, flag in (("json", "--json"), ("output", "--output")):
        dest = getattr(args, attr, None)
        if dest is None or dest == "-":
            continue
        check_output_path(Path(dest), flag)
        if hasattr(args, "db") and same_file(Path(dest), store_path(args)):
            raise BadInput(f"{flag} {shown(dest)} is the result store; choose another file")


def environment() -> Any:
    from cnnbench.measure.records import Environment
    from cnnbench.system.fingerprint import collect, software_versions

    return Environment(collect(), software_versions())


def shape_arg(text: str | None) -> tuple[int, ...] | None:
    from cnnbench.cli._args import parse_shape

    return parse_shape(text) if text is not None else None
