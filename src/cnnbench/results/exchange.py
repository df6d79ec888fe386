"""Moving records between machines: JSON lines export and validated, all-or-nothing import.

JSON is strict both ways (:mod:`cnnbench.results._json`): no NaN or Infinity is written, and a
file holding one, an integer beyond 64 bits or a document nested too deeply is refused. Import
reads and checks every line before anything is written: a bad line refuses the whole file, and
the message names the line and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from cnnbench.errors import BadInput
from cnnbench.results import _json
from cnnbench.results.record import ResultRecord

# What `results show ID` can name: a letter or digit first (not an option), no spaces, no
# wildcards. Records made by cnnbench have 32 hex digits.
RECORD_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_.:-]{0,127}")


def dumps(obj: object) -> str:
    """One line of strict JSON (sorted keys); NaN, Infinity, integers beyond 64 bits and
    values that are not JSON are a :class:`BadInput`, not tokens."""
    return _json.dumps(obj)


def loads(text: str) -> object:
    """Strict JSON: NaN, Infinity, overflowing floats, integers beyond 64 bits and deep
    nesting are a :class:`BadInput`."""
    return _json.loads(text)


def write_jsonl(records: Iterable[ResultRecord], out: TextIO) -> int:
    """Each record as one line; a record that is not strict JSON is a :class:`BadInput` naming
    it, raised before its line is written."""
    n = 0
    for rec in records:
        try:
            line = dumps(rec.to_json())
        except BadInput as exc:
            raise BadInput(f"record {rec.id} cannot be exported: {exc}") from None
        out.write(line + "\n")
        n += 1
    return n


def parse_line(line: str) -> ResultRecord:
    """One line of an export: strict JSON, a valid record, an id ``results show`` can name."""
    rec = ResultRecord.from_json(loads(line))
    if not RECORD_ID.fullmatch(rec.id):
        raise BadInput(
            f"id must be 1 to 128 letters, digits or _.:- (a letter or digit first), "
            f"got {rec.id[:40]!r}"
        )
    return rec


def read_jsonl(path: Path) -> list[ResultRecord]:
    """Every record of a JSON lines file, or a :class:`BadInput` naming the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None
    records: list[ResultRecord] = []
    seen: dict[str, int] = {}
    # "\n" only: str.splitlines() would also split at U+2028 and others, legal inside strings.
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rec = parse_line(line)
        except BadInput as exc:
            raise BadInput(f"{path}:{lineno}: {exc}") from None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # A defect no section names (a bug here, not in the file): still one line.
            raise BadInput(f"{path}:{lineno}: not a valid record ({exc!r:.120})") from None
        if rec.id in seen:
            raise BadInput(f"{path}:{lineno}: id {rec.id} repeats line {seen[rec.id]}")
        seen[rec.id] = lineno
        records.append(rec)
    if not records:
        raise BadInput(f"{path} holds no result records")
    return records
