"""The one atomic file writer: a temporary file beside the target, fsync, then rename.

Readers never see half a file (two writers of the same bytes are harmless: the last rename
wins), and after a crash the target is either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final: Path | str, *, suffix: str = ".tmp", mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; when the block succeeds, fsync the file and
    rename it into place. A tool that writes by path (an ONNX quantiser, say) writes there."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it private; caches are shared like any file
        os.replace(tmp, final)
        with contextlib.suppress(OSError):  # make the rename itself durable
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def atomic_write(final: Path | str, data: bytes | str) -> None:
    """Write ``data`` to ``final`` atomically (text is UTF-8)."""
    payload = data.encode() if isinstance(data, str) else data
    with atomic_path(final) as tmp:
        tmp.write_bytes(payload)
