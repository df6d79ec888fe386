"""The ``effective`` section: what the engine really used, as it reported it.

The fields every engine reports are typed (precision, threads, streams, device, the ISA level and
the nodes whose kernels stay above an ISA cap); the rest is engine-specific and kept in
``details`` as the engine gave it (a JSON object). In JSON the section stays one flat object,
as engines have always written it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.results._json import Fields, JsonDict, drop_none

COMMON = ("precision", "threads", "streams", "device", "isa", "isa_exceptions")


@dataclass(frozen=True)
class IsaException:
    """A node whose kernel stays above the ISA cap (an engine that cannot cap that kind)."""

    node: str
    node_type: str | None = None  # the engine's node or layer type (JSON key "type")
    kernel: str | None = None

    def to_json(self) -> JsonDict:
        return drop_none({"node": self.node, "type": self.node_type, "kernel": self.kernel})

    @classmethod
    def from_json(cls, item: object, where: str) -> IsaException:
        if isinstance(item, str):  # a bare node name
            return cls(item)
        f = Fields(item, where)
        return cls(f.string("node"), f.opt_string("type"), f.opt_string("kernel"))

    def describe(self) -> str:
        extra = ", ".join(x for x in (self.node_type, self.kernel) if x)
        return f"{self.node} ({extra})" if extra else self.node


@dataclass(frozen=True)
class Effective:
    """The settings the engine really ran with (``None``: it did not say)."""

    precision: str | None = None
    threads: int | None = None
    streams: int | None = None
    device: str | None = None
    isa: str | None = None  # the instruction set level the kernels use, when known
    isa_exceptions: tuple[IsaException, ...] = ()  # nodes whose kernel stays above the cap
    details: Mapping[str, Any] = field(default_factory=dict)  # engine-specific, JSON

    def __post_init__(self) -> None:
        clash = sorted(set(self.details) & set(COMMON))
        if clash:
            raise ValueError(f"effective details repeat typed fields: {', '.join(clash)}")

    def to_json(self) -> JsonDict:
        """The engine's flat object; the typed keys are always written (null: not reported),
        except in the empty section of a run that never prepared a session."""
        if self == Effective():
            return {}
        out: JsonDict = dict(self.details)
        for key in COMMON[:-1]:
            out[key] = getattr(self, key)
        if self.isa_exceptions:
            out["isa_exceptions"] = [x.to_json() for x in self.isa_exceptions]
        return out

    @classmethod
    def from_json(cls, d: object, where: str = "effective") -> Effective:
        f = Fields(d, where)
        return cls(
            precision=f.opt_string("precision"),
            threads=f.opt_integer("threads", minimum=1),
            streams=f.opt_integer("streams", minimum=1),
            device=f.opt_string("device"),
            isa=f.opt_string("isa"),
            isa_exceptions=_isa_exceptions(f),
            details=f.rest(COMMON),
        )


def _isa_exceptions(f: Fields) -> tuple[IsaException, ...]:
    items = f.raw("isa_exceptions")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise BadInput(f"{f.path('isa_exceptions')} must be a list, got {items!r:.40}")
    where = f.path("isa_exceptions")
    return tuple(IsaException.from_json(x, f"{where}[{i}]") for i, x in enumerate(items))
