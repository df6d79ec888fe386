"""Checked access to a study's YAML: the file read, each value with the key path it sits at,
so every defect is one :class:`~cnnbench.errors.BadInput` naming the file and the key."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.spec import FloatRange, IntRange

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FILE_MAX_BYTES = 1_000_000


def read_yaml(path: Path, what: str = "study") -> Any:
    """A YAML file's document; an unreadable or invalid file is one BadInput line."""
    try:
        if path.stat().st_size > FILE_MAX_BYTES:
            raise BadInput(f"{what} file {path}: larger than {FILE_MAX_BYTES} bytes")
        text = path.read_text()
    except UnicodeDecodeError:
        raise BadInput(f"{what} file {path}: not UTF-8 text") from None
    except OSError as exc:
        raise BadInput(f"{what} file {path}: {exc.strerror or exc}") from None
    try:
        import yaml
    except ImportError:
        raise BadInput(
            "reading study files needs PyYAML: pip install 'cnnbench[studies]'"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadInput(f"{what} file {path}: not valid YAML ({where}{problem})") from None


class At:
    """A value and where it sits in the file, for messages naming the key."""

    def __init__(self, source: str, path: str, value: Any) -> None:
        self.source, self.path, self.value = source, path, value

    def fail(self, problem: str) -> BadInput:
        where = f"{self.path}: " if self.path else ""
        return BadInput(f"{self.source}: {where}{problem}")

    def child(self, key: str | int) -> At:
        value = self.value[key]
        sep = "" if isinstance(key, int) else "."
        name = f"[{key}]" if isinstance(key, int) else str(key)
        return At(self.source, f"{self.path}{sep}{name}" if self.path else name, value)

    def mapping(self, allowed: tuple[str, ...]) -> dict[str, At]:
        if not isinstance(self.value, dict):
            raise self.fail(f"must be a mapping, got {kind(self.value)}")
        for key in self.value:
            if not isinstance(key, str) or key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(allowed)
                raise self.child(key).fail(f"unknown key{hint} (known: {known})")
        return {k: self.child(k) for k in self.value}

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.fail(f"must be a non-empty string, got {kind(self.value)}")
        if len(self.value) > 4096:
            raise self.fail("is longer than 4096 characters")
        return self.value

    def name(self) -> str:
        text = self.text()
        if not NAME_RE.match(text):
            raise self.fail(f"{text!r} is not a name (letters, digits, '-', '_', '.'; 64 at most)")
        return text

    def items(self) -> list[At]:
        """A list (a single scalar counts as a list of one)."""
        if isinstance(self.value, list):
            if not self.value:
                raise self.fail("must not be an empty list")
            return [self.child(i) for i in range(len(self.value))]
        if isinstance(self.value, dict) or self.value is None:
            raise self.fail(f"must be a value or a list, got {kind(self.value)}")
        return [self]

    def integer(self, limits: IntRange) -> int:
        if not limits.contains(self.value):
            raise self.fail(f"must be {limits}, got {kind(self.value)}")
        return int(self.value)

    def number(self, limits: FloatRange) -> float:
        if not limits.contains(self.value):
            raise self.fail(f"must be {limits}, got {kind(self.value)}")
        return float(self.value)

    def choice(self, choices: tuple[str, ...]) -> str:
        if self.value not in choices:
            raise self.fail(f"must be one of {', '.join(choices)}, got {kind(self.value)}")
        return str(self.value)


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def unique(values: list[Any], at: At) -> tuple[Any, ...]:
    if len(set(values)) != len(values):
        raise at.fail("lists a value twice")
    return tuple(values)
