"""Finding a test's own processes by a tag in their environment (workers inherit it)."""

from __future__ import annotations

from pathlib import Path


def tagged_processes(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``CNNBENCH_TEST_TAG=tag``."""
    needle = f"CNNBENCH_TEST_TAG={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found
