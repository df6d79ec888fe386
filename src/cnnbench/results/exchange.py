"""Moving records between machines: JSON lines export and validated, all-or-nothing import.

JSON is strict both ways: no NaN or Infinity is written, and a file holding one is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn, TextIO

from cnnbench.errors import BadInput
from cnnbench.results.record import ResultRecord


def dumps(obj: object) -> str:
    """One line of strict JSON (sorted keys; NaN and Infinity are errors, not tokens)."""
    return json.dumps(obj, sort_keys=True, allow_nan=False)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads(text: str) -> object:
    """Strict JSON: NaN, Infinity and -Infinity are refused."""
    return json.loads(text, parse_constant=_no_constant)


def write_jsonl(records: Iterable[ResultRecord], out: TextIO) -> int:
    n = 0
    for rec in records:
        out.write(dumps(rec.to_json()) + "\n")
        n += 1
    return n


def read_jsonl(path: Path) -> list[ResultRecord]:
    """Every record of a JSON lines file, or a :class:`BadInput` naming the first bad line."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    records: list[ResultRecord] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        except ValueError as exc:
            raise BadInput(f"{path}:{lineno}: not strict JSON ({exc})") from None
        except RecursionError:
            raise BadInput(f"{path}:{lineno}: JSON nested too deeply") from None
        try:
            rec = ResultRecord.from_json(obj)
        except BadInput as exc:
            raise BadInput(f"{path}:{lineno}: {exc}") from None
        if rec.id in seen:
            raise BadInput(f"{path}:{lineno}: duplicate record id {rec.id}")
        seen.add(rec.id)
        records.append(rec)
    if not records:
        raise BadInput(f"{path} holds no result records")
    return records
