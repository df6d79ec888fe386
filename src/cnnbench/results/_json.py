"""The JSON boundary of the typed sections: reading a JSON object field by field.

Every ``from_json`` reads through a :class:`Fields`, which checks each value's type as it is
taken and raises :class:`~cnnbench.errors.BadInput` naming the field's full path
(``latency_ms.n must be an integer, got 'x'``). JSON here is strict: numbers are finite (no NaN
or Infinity) and integers fit SQLite's 64 bits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeAlias, TypeGuard

from cnnbench.errors import BadInput

JsonDict: TypeAlias = dict[str, Any]  # a JSON object, as json.loads gives it
INT_LIMIT = 2**63 - 1  # SQLite's INTEGER


def is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number (not a bool)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= 1e308
    )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def drop_none(d: JsonDict) -> JsonDict:
    """``d`` without the keys whose value is None (optional keys are left out, not null)."""
    return {k: v for k, v in d.items() if v is not None}


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

    def opt_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def number(self, key: str) -> float:
        value = self.obj.get(key)
        if not is_number(value):
            raise self.fail(key, "a finite number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return self.number(key) if self.has(key) else None

    def integer(self, key: str, minimum: int | None = None) -> int:
        value = self.obj.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT_LIMIT:
            raise self.fail(key, "an integer")
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
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in items):
            raise self.fail(key, "a list of integers")
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
            if isinstance(count, bool) or not isinstance(count, int):
                raise BadInput(f"{self.path(key)}.{name} must be an integer, got {_show(count)}")
        return value

    def rest(self, known: tuple[str, ...]) -> JsonDict:
        """The keys not in ``known``, as they are."""
        return {k: v for k, v in self.obj.items() if k not in known}
