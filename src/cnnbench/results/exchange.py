"""Moving records between machines: JSON lines export and validated, all-or-nothing import."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from cnnbench.errors import BadInput
from cnnbench.results.record import ResultRecord


def write_jsonl(records: Iterable[ResultRecord], out: TextIO) -> int:
    n = 0
    for rec in records:
        out.write(json.dumps(rec.to_dict(), sort_keys=True) + "\n")
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
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        try:
            rec = ResultRecord.from_dict(obj)
        except BadInput as exc:
            raise BadInput(f"{path}:{lineno}: {exc}") from None
        if rec.id in seen:
            raise BadInput(f"{path}:{lineno}: duplicate record id {rec.id}")
        seen.add(rec.id)
        records.append(rec)
    if not records:
        raise BadInput(f"{path} holds no result records")
    return records
