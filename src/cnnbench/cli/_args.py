"""Command-line words to values: CPU lists, shapes, engine options, output paths.

Messages here may name flags; the core below the CLI never does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cnnbench.errors import BadInput


def parse_cores(text: str) -> tuple[int, ...]:
    """``0,2,4-7`` -> (0, 2, 4, 5, 6, 7); CPUs must exist and be allowed to this process."""
    cores: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                cores.update(range(lo, hi + 1))
            else:
                cores.add(int(part))
        except ValueError:
            raise BadInput(f"--cores: {part!r} is not a CPU number or range (e.g. 0,2-3)") from None
    if not cores:
        raise BadInput("--cores names no CPU")
    allowed = os.sched_getaffinity(0)
    missing = sorted(c for c in cores if c not in allowed)
    if missing:
        raise BadInput(
            f"--cores: CPU {', '.join(map(str, missing))} does not exist or is not available "
            f"(available: {_ranges(sorted(allowed))})"
        )
    return tuple(sorted(cores))


def _ranges(values: list[int]) -> str:
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ",".join(out)


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise BadInput(f"--input-shape {text!r}: expected dimensions like 3x224x224") from None
    if not dims or any(d < 1 for d in dims):
        raise BadInput(f"--input-shape {text!r}: dimensions must be positive")
    return dims


def parse_options(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--option {item!r}: expected KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return tuple(sorted(out))


def check_writable(path: Path) -> None:
    """Fail before measuring when an output file could not be written afterwards."""
    if str(path) == "-":
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BadInput(f"cannot write {path}")
