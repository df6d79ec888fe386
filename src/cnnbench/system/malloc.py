"""The worker's C allocator: glibc malloc as it comes, or told to keep freed memory.

An eager framework allocates each layer's output afresh on every call and frees it when the next
layer is done. glibc serves a block above its *mmap threshold* with a fresh ``mmap`` and returns it
with ``munmap``, and gives the top of its heap back to the kernel once more than its *trim
threshold* is free; the threshold moves with what the process freed before. Either way the pages
come back zeroed, and the next call faults them in again: on a KVM guest, thousands of faults per
inference whose cost moves with the host (eager torch, MobileNetV2 at batch 1: 3,400 per call).

``keep`` (``--option malloc=keep``) calls ``mallopt`` in the worker before the model is built:
``M_MMAP_THRESHOLD`` fixed at 32 MiB (glibc's ceiling on 64-bit, so only blocks above it are
mapped) and ``M_TRIM_THRESHOLD`` at 2 GiB - 1, ``mallopt``'s ceiling (the heap is not trimmed):
the effect jemalloc or tcmalloc give a framework. ``mallopt`` says whether it took each
setting; a C library without it (musl) makes the run unsupported. ``default`` changes nothing;
the record names the C library and any ``GLIBC_TUNABLES`` the worker inherited, since those
change the allocator too.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from cnnbench.errors import Unsupported

SETTINGS = ("default", "keep")
M_TRIM_THRESHOLD = -1  # <malloc.h>
M_MMAP_THRESHOLD = -3
KEEP_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit
KEEP_TRIM_THRESHOLD_BYTES = 2**31 - 1  # mallopt takes an int


def libc_version() -> str | None:
    """'glibc 2.36', or None when the C library does not say (not glibc)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None


def setting_of(options: tuple[tuple[str, str], ...]) -> str:
    """The ``malloc`` option of a target's options ('default' when not given); an unknown
    value is :class:`Unsupported`, listing the values allowed."""
    text = dict(options).get("malloc", "").strip().lower()
    if not text:
        return "default"
    if text not in SETTINGS:
        raise Unsupported(f"option malloc={text!r}: choose one of {', '.join(SETTINGS)}")
    return text


def apply(setting: str, mallopt: Any = None) -> dict[str, Any]:
    """Set the allocator of this process (a worker) and say what it runs with, for the
    record's ``effective.malloc``. ``mallopt`` is the C function (tests pass a stand-in)."""
    out: dict[str, Any] = {
        "setting": setting,
        "libc": libc_version(),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
    }
    if setting == "default":
        return out
    if mallopt is None:
        mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
        if mallopt is None:
            raise Unsupported(f"malloc=keep: this C library ({out['libc']}) has no mallopt")
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
    for name, param, value in (
        ("mmap_threshold_bytes", M_MMAP_THRESHOLD, KEEP_MMAP_THRESHOLD_BYTES),
        ("trim_threshold_bytes", M_TRIM_THRESHOLD, KEEP_TRIM_THRESHOLD_BYTES),
    ):
        if mallopt(param, value) != 1:
            raise Unsupported(f"malloc=keep: mallopt refused {name} = {value} ({out['libc']})")
        out[name] = value
    return out
