"""Command-line words to values: CPU lists, shapes, engine options, paths.

Messages here may name flags; the core below the CLI never does.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from cnnbench.cli._common import shown
from cnnbench.errors import BadInput
from cnnbench.spec import CPU_NUMBER, INPUT_DIM, INPUT_RANK, check_input_shape


def parse_cores(text: str) -> tuple[int, ...]:
    """``0,2,4-7`` -> (0, 2, 4, 5, 6, 7); CPUs must exist and be allowed to this process."""
    if not text.strip():
        raise BadInput("--cores names no CPU (e.g. 0,2-3)")
    cores: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise BadInput(f"--cores {shown(text)}: an empty entry (e.g. 0,2-3)")
        try:
            lo_text, sep, hi_text = part.partition("-")
            lo = int(lo_text)
            hi = int(hi_text) if sep else lo
        except ValueError:
            raise BadInput(
                f"--cores: {shown(part, 40)} is not a CPU number or range (e.g. 0,2-3)"
            ) from None
        for n in (lo, hi):
            if not CPU_NUMBER.contains(n):
                raise BadInput(f"--cores: CPU {n} is out of range ({CPU_NUMBER.short})")
        if hi < lo:
            raise BadInput(f"--cores: the range {part} runs backwards")
        cores.update(range(lo, hi + 1))
    allowed = os.sched_getaffinity(0)
    missing = sorted(c for c in cores if c not in allowed)
    if missing:
        shown_missing = _ranges(missing)
        raise BadInput(
            f"--cores: CPU {shown_missing} does not exist or is not available "
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
    """``3x224x224`` (or ``3,224,224``) -> (3, 224, 224), within the documented limits."""
    example = "expected dimensions like 3x224x224"
    parts = text.lower().replace(",", "x").split("x")
    if not text.strip() or any(not p.strip() for p in parts):
        raise BadInput(f"--input-shape {shown(text)}: {example}")
    if not INPUT_RANK.contains(len(parts)):
        raise BadInput(
            f"--input-shape {shown(text)}: {len(parts)} dimensions; "
            f"{INPUT_RANK.lo} to {INPUT_RANK.hi} are allowed"
        )
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise BadInput(f"--input-shape {shown(text)}: {example}") from None
    if not all(INPUT_DIM.contains(d) for d in dims):
        raise BadInput(f"--input-shape {shown(text)}: every dimension must be {INPUT_DIM}")
    try:
        return check_input_shape(dims)
    except BadInput as exc:
        raise BadInput(f"--input-shape: {exc}") from None


def parse_options(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` words -> sorted pairs; a key may be given once (an empty value: default)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadInput(f"--option {shown(item)}: expected KEY=VALUE")
        if key in out:
            raise BadInput(f"--option {key} is given twice")
        out[key] = value.strip()
    return tuple(sorted(out.items()))


def parse_node(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``--node KEY=VALUE`` words -> a checked node selection (spec.check_node_selection)."""
    from cnnbench.spec import check_node_selection

    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--node {shown(item)}: expected KEY=VALUE")
        pairs.append((key.strip(), value.strip()))
    return check_node_selection(pairs)


# -- paths -------------------------------------------------------------------------------------


def _stat(path: Path, flag: str) -> os.stat_result | None:
    """``path``'s status, None when nothing is there, or a :class:`BadInput` naming why the
    path cannot be used (a name too long, a part that is not a folder, no permission)."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            why = "the file name is too long"
        elif exc.errno == errno.ENOTDIR:
            why = "a part of the path is not a folder"
        else:
            why = exc.strerror or str(exc)
        raise BadInput(f"{flag} {shown(str(path))}: {why}") from None
    except ValueError as exc:  # a NUL character
        raise BadInput(f"{flag} {shown(str(path))}: {exc}") from None


def _check_folder(path: Path, flag: str, verb: str) -> None:
    """The folder a new file would go in exists and is writable."""
    parent = path.parent
    st = _stat(parent, flag)
    if st is None:
        raise BadInput(f"{flag}: cannot {verb} {shown(str(path))}: folder {parent} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{flag}: cannot {verb} {shown(str(path))}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"{flag}: cannot {verb} {shown(str(path))}: folder {parent} is not writable")


def check_output_path(path: Path, flag: str) -> None:
    """Fail before any work when an output file could not be written afterwards."""
    st = _stat(path, flag)
    if st is None:
        _check_folder(path, flag, "write")
        return
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{flag}: cannot write {shown(str(path))}: it is a folder")
    if not os.access(path, os.W_OK):
        raise BadInput(f"{flag}: cannot write {shown(str(path))}: permission denied")


def check_input_file(path: Path, flag: str) -> None:
    """A file to read exists, is a regular file (not a folder, pipe or device) and is readable."""
    st = _stat(path, flag)
    if st is None:
        raise BadInput(f"{flag}: cannot read {shown(str(path))}: no such file")
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{flag}: cannot read {shown(str(path))}: it is a folder")
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{flag}: cannot read {shown(str(path))}: not a regular file")
    if not os.access(path, os.R_OK):
        raise BadInput(f"{flag}: cannot read {shown(str(path))}: permission denied")


def check_store_path(path: Path, flag: str, *, create: bool, missing_ok: bool = False) -> bool:
    """A store path that can be opened (or created, when ``create``); whether it exists.

    A missing store is refused unless ``create`` (its folder must then be writable) or
    ``missing_ok`` (a command that only reads what may be cached there)."""
    st = _stat(path, flag)
    if st is None:
        if missing_ok:
            return False
        if not create:
            raise BadInput(f"no store at {shown(str(path))} (nothing measured or imported yet)")
        _check_folder(path, flag, "create the store")
        return False
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{flag} {shown(str(path))} is a folder, not a store file")
    if not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{flag} {shown(str(path))} is not a regular file")
    if not os.access(path, os.R_OK | os.W_OK):
        raise BadInput(f"{flag} {shown(str(path))}: permission denied")
    return True


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (the second need not exist)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except (OSError, ValueError):
        return False


def counters_probe(choice: str) -> str:
    """``--counters auto``: perf where the PMU is exposed, else cachegrind (simulated)."""
    if choice != "auto":
        return choice
    from cnnbench.measure.probes.status import perf_status

    return "perf" if perf_status().available else "cachegrind"
