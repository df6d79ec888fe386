"""The JSON boundary of the typed sections: strict JSON text, and reading an object field by field.

Every ``from_json`` reads through a :class:`Fields`, which checks each value's type as it is
taken and raises :class:`~cnnbench.errors.BadInput` naming the field's full path
(``latency_ms.n must be an integer, got 'x'``). JSON here is strict: numbers are finite (no NaN
or Infinity, in text or as a float that overflows), integers fit SQLite's 64 bits, and a document
nests at most :data:`MAX_DEPTH` levels. :func:`loads` and :func:`dumps` are the strict text
pair; :func:`check_tree` checks a document already in memory, naming the first bad value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn, TypeAlias, TypeGuard

from cnnbench.errors import BadInput

JsonDict: TypeAlias = dict[str, Any]  # a JSON object, as json.loads gives it
INT_LIMIT = 2**63 - 1  # SQLite's INTEGER
INT_MIN = -(2**63)
MAX_DEPTH = 64  # a record nests about 6 levels; engines' details and fingerprints a few more


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (not a bool; an integer a float can hold)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= 1e308  # compared exactly, no conversion that could overflow
    return isinstance(value, float) and math.isfinite(value)


def is_int64(value: object) -> TypeGuard[int]:
    """An integer (not a bool) that SQLite can store."""
    return isinstance(value, int) and not isinstance(value, bool) and INT_MIN <= value <= INT_LIMIT


def _show(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and not is_int64(value):
        return f"an integer of {len(str(abs(value)))} digits"  # repr of 2**70 says nothing
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def drop_none(d: JsonDict) -> JsonDict:
    """``d`` without the keys whose value is None (optional keys are left out, not null)."""
    return {k: v for k, v in d.items() if v is not None}


# -- strict JSON text --------------------------------------------------------------------------
def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


def loads(text: str) -> object:
    """Strict JSON, checked with :func:`check_tree`; anything else is a :class:`BadInput`:
    NaN, Infinity, a float that overflows, an integer beyond 64 bits, nesting beyond
    :data:`MAX_DEPTH`."""
    try:
        obj = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadInput(f"JSON nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # NaN, Infinity, 1e999, an integer of over 4300 digits
        if "integer string conversion" in str(exc):
            raise BadInput("not strict JSON (an integer of thousands of digits)") from None
        raise BadInput(f"not strict JSON ({exc})") from None
    check_tree(obj)
    return obj


def dumps(obj: object) -> str:
    """One line of strict JSON (sorted keys); a document :func:`check_tree` refuses is a
    :class:`BadInput` naming the value, and nothing is written."""
    check_tree(obj)
    try:
        return json.dumps(obj, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. keys of mixed types
        raise BadInput(f"not JSON: {exc}") from None


def check_tree(obj: object, where: str = "") -> None:
    """Every value of a JSON document is strict JSON: objects with string keys, lists, strings,
    booleans, null, finite numbers, integers within 64 bits, at most :data:`MAX_DEPTH` levels
    deep. A :class:`BadInput` names the first value that is not (``machine.cores[2]``)."""
    stack: list[tuple[object, str, int]] = [(obj, where, 0)]
    while stack:
        value, path, depth = stack.pop()
        what = path if len(path) <= 80 else path[:60] + "..." + path[-16:]
        what = what or "the document"
        if value is None or isinstance(value, str | bool):
            continue
        if isinstance(value, int):
            if not is_int64(value):
                raise BadInput(f"{what} must be an integer within 64 bits, got {_show(value)}")
            continue
        if isinstance(value, float):
            if not is_number(value):
                raise BadInput(f"{what} must be a finite number, got {value!r}")
            continue
        if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
            raise BadInput(f"{what} is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            for key, item in reversed(value.items()):  # reversed: the first is checked first
                if not isinstance(key, str):
                    raise BadInput(f"{what} has a key that is not a string: {_show(key)}")
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list | tuple):
            if all(type(x) is float for x in value):  # a series of samples: one quick pass
                bad = next((i for i, x in enumerate(value) if not math.isfinite(x)), None)
                if bad is not None:
                    raise BadInput(f"{what}[{bad}] must be a finite number, got {value[bad]!r}")
                continue
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], f"{path}[{i}]", depth + 1))
        else:
            raise BadInput(f"{what} is not a JSON value: {type(value).__name__} {_show(value)}")


class Fields:
    """A JSON object being read: typed getters that name ``where.key`` when a value is wrong."""

    def __init__(self, obj: object, where: str = "") -> None:
        if not isinstance(obj, dict):
            what = where or "the record"
            raise BadInput(f"{what} must be an object, got {_show(obj)}")
        self.obj: Mapping[str, Any] = obj
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, expected: str) -> BadInput:
        return BadInput(f"{self.path(key)} must be {expected}, got {_show(self.obj.get(key))}")

    def has(self, key: str) -> bool:
        return self.obj.get(key) is not None

    def raw(self, key: str) -> Any:
        return self.obj.get(key)

    # -- scalars ---------------------------------------------------------------------------
    def string(self, key: str) -> str:
        value = self.obj.get(key)
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value

    def name(self, key: str) -> str:
        """A string that is not blank (an id, a source, a probe's name)."""
        value = self.obj.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "a non-empty string")
        return value

    def reason_for(self, source: str) -> str | None:
        """A section's ``reason``: required, and not blank, when ``source`` is ``none``."""
        return self.name("reason") if source == "none" else self.opt_string("reason")

    def opt_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def number(self, key: str, minimum: float | None = None) -> float:
        value = self.obj.get(key)
        if not is_number(value):
            raise self.fail(key, "a finite number")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"a number >= {minimum:g}")
        return float(value)

    def opt_number(self, key: str, minimum: float | None = None) -> float | None:
        return self.number(key, minimum) if self.has(key) else None

    def integer(self, key: str, minimum: int | None = None) -> int:
        value = self.obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "an integer")
        if not is_int64(value):
            raise self.fail(key, "an integer within 64 bits")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"an integer >= {minimum}")
        return value

    def opt_integer(self, key: str, minimum: int | None = None) -> int | None:
        return self.integer(key, minimum) if self.has(key) else None

    def boolean(self, key: str) -> bool:
        value = self.obj.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def opt_boolean(self, key: str) -> bool | None:
        return self.boolean(key) if self.has(key) else None

    # -- lists and objects -----------------------------------------------------------------
    def _list(self, key: str, expected: str) -> list[Any]:
        value = self.obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, expected)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        items = self._list(key, "a list of strings")
        if not all(isinstance(x, str) for x in items):
            raise self.fail(key, "a list of strings")
        return tuple(items)

    def numbers(self, key: str) -> tuple[float, ...]:
        items = self._list(key, "a list of numbers")
        if not all(is_number(x) for x in items):
            raise self.fail(key, "a list of finite numbers")
        return tuple(float(x) for x in items)

    def integers(self, key: str) -> tuple[int, ...]:
        items = self._list(key, "a list of integers")
        if not all(is_int64(x) for x in items):
            raise self.fail(key, "a list of integers within 64 bits")
        return tuple(items)

    def pair(self, key: str) -> tuple[float, float]:
        value = self.obj.get(key)
        if not (isinstance(value, list) and len(value) == 2 and all(is_number(x) for x in value)):
            raise self.fail(key, "two finite numbers")
        return float(value[0]), float(value[1])

    def fields(self, key: str) -> Fields:
        if not isinstance(self.obj.get(key), dict):
            raise self.fail(key, "an object")
        return Fields(self.obj[key], self.path(key))

    def opt_fields(self, key: str) -> Fields | None:
        return self.fields(key) if self.has(key) else None

    def objects(self, key: str) -> list[Fields]:
        items = self._list(key, "a list of objects")
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadInput(f"{self.path(key)}[{i}] must be an object, got {_show(item)}")
            out.append(Fields(item, f"{self.path(key)}[{i}]"))
        return out

    def mapping(self, key: str) -> JsonDict:
        """A JSON object passed through as it is (an engine's details, a fingerprint)."""
        value = self.obj.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "an object")
        return dict(value)

    def counts(self, key: str) -> dict[str, int]:
        """An object of integer counts (MACs by layer type, counter values)."""
        value = self.mapping(key)
        for name, count in value.items():
            if not is_int64(count):
                raise BadInput(
                    f"{self.path(key)}.{name} must be an integer within 64 bits, got {_show(count)}"
                )
        return value

    def texts(self, key: str) -> dict[str, str]:
        """An object of strings (package versions)."""
        value = self.mapping(key)
        for name, text in value.items():
            if not isinstance(text, str):
                raise BadInput(f"{self.path(key)}.{name} must be a string, got {_show(text)}")
        return value

    def rest(self, known: tuple[str, ...]) -> JsonDict:
        """The keys not in ``known``, as they are."""
        return {k: v for k, v in self.obj.items() if k not in known}
