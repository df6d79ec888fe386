"""Engine options (``--option KEY=VALUE``): one declarative table per engine, one parser.

Each engine declares its options as a tuple of :class:`Option` (name, kind, default, one-line
doc); :func:`parse_options` checks a target's ``(key, value)`` pairs against it and returns the
typed values. A mistake is :class:`~cnnbench.errors.Unsupported` with a helpful reason: an unknown
key lists the known ones and the close matches, a bad value says the values allowed.

Kinds: ``bool`` (1/0, true/false, yes/no, on/off), ``int`` (a positive integer), or a tuple of
choices (matched case-insensitively). A default of ``None`` means "not set": the engine leaves
the setting to the library and records what it chose.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cnnbench.errors import Unsupported
from cnnbench.system.malloc import SETTINGS

OptionValue = bool | int | str | None
OptionKind = type[bool] | type[int] | tuple[str, ...]

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Option:
    """One option of an engine."""

    name: str
    kind: OptionKind
    default: OptionValue
    doc: str

    def allowed(self) -> str:
        """The values allowed, in words."""
        if self.kind is bool:
            return "1 or 0 (also true/false, yes/no, on/off)"
        if self.kind is int:
            return "a positive integer"
        assert isinstance(self.kind, tuple)
        return "one of " + ", ".join(self.kind)

    def parse(self, engine: str, text: str) -> OptionValue:
        value = text.strip().lower()
        if self.kind is bool:
            if value in TRUE_WORDS:
                return True
            if value in FALSE_WORDS:
                return False
            raise Unsupported(f"{engine} option {self.name}={text!r}: use {self.allowed()}")
        if self.kind is int:
            if not value.isascii() or not value.isdigit() or int(value) < 1:
                raise Unsupported(f"{engine} option {self.name}={text!r} is not a positive integer")
            return int(value)
        assert isinstance(self.kind, tuple)
        if value not in self.kind:
            raise Unsupported(f"{engine} option {self.name}={text!r}: choose {self.allowed()}")
        return value


# The worker's C allocator (:mod:`cnnbench.system.malloc`, applied by the worker for every engine
# whose table lists it, before the model is built).
MALLOC = Option(
    "malloc",
    SETTINGS,
    "default",
    "glibc malloc as it comes, or keep freed memory (mallopt: no mmap below 32 MiB, no trim)",
)


@dataclass(frozen=True)
class OptionValues:
    """The parsed options of a target: every option of the table, set or defaulted."""

    engine: str
    values: Mapping[str, OptionValue]
    given: frozenset[str] = field(default_factory=frozenset)  # the keys the user set

    def __getitem__(self, name: str) -> OptionValue:
        return self.values[name]

    def flag(self, name: str) -> bool | None:
        value = self.values[name]
        assert value is None or isinstance(value, bool), (name, value)
        return value

    def integer(self, name: str) -> int | None:
        value = self.values[name]
        assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        return value

    def text(self, name: str) -> str:
        value = self.values[name]
        assert isinstance(value, str), (name, value)
        return value


def parse_options(
    engine: str, table: Sequence[Option], pairs: Iterable[tuple[str, str]]
) -> OptionValues:
    """Check ``pairs`` against ``table``; the typed values, defaults filled in."""
    by_name = {o.name: o for o in table}
    given = dict(pairs)
    unknown = sorted(k for k in given if k not in by_name)
    if unknown:
        known = sorted(by_name)
        close = sorted(
            {m for k in unknown for m in difflib.get_close_matches(k, known, n=3, cutoff=0.6)}
        )
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise Unsupported(
            f"{engine} engine has no option {', '.join(unknown)} "
            f"(known: {', '.join(known) or 'none'}){hint}"
        )
    values: dict[str, OptionValue] = {}
    for option in table:
        text = given.get(option.name)
        # An empty value is the default (``--option compile_mode=``), as it always was.
        values[option.name] = (
            option.parse(engine, text) if text is not None and text.strip() else option.default
        )
    return OptionValues(engine, values, frozenset(k for k, v in given.items() if v.strip()))


def describe_options(table: Sequence[Option]) -> list[str]:
    """One line per option: ``name=allowed (default D): doc``, for help texts and docs."""
    lines = []
    for o in table:
        default = "not set" if o.default is None else str(o.default).lower()
        lines.append(f"{o.name}: {o.allowed()} (default {default}); {o.doc}")
    return lines
