"""The ``?KEY=VALUE&...`` part of a generated model's name (design patterns, layer probes)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from cnnbench.errors import BadInput


def parse_query(ref: str, query: str, keys: Sequence[str]) -> dict[str, int]:
    """Positive integer values of ``keys`` from ``query`` (``&`` or ``,`` between items, keys
    case-insensitive, each at most once); a clear :class:`BadInput` naming ``ref`` otherwise."""
    values: dict[str, int] = {}
    for item in re.split(r"[&,]", query):
        key, eq, value = (s.strip() for s in item.partition("="))
        key = key.lower()
        if not eq or not key:
            raise BadInput(f"{ref!r}: expected KEY=VALUE after '?', got {item!r}")
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]}?" if close else f"use {', '.join(keys)}"
            raise BadInput(f"{ref!r}: unknown key {key!r}; {hint}")
        if key in values:
            raise BadInput(f"{ref!r}: {key} is given twice")
        if not re.fullmatch(r"[0-9]+", value):
            raise BadInput(f"{ref!r}: {key} must be a positive integer, got {value!r}")
        values[key] = int(value)
    return values
