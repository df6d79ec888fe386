"""The child side of worker isolation: ``python -m cnnbench.measure.worker JOB RESULT``.

JOB is a JSON file ``{"entry": "module:function", "payload": {...}, "cores": [..] | null}``.
CPU affinity is applied first, before the entry's module (and with it any engine) is imported;
thread counts and ISA caps arrive through the environment the parent built. The entry's return
value (a JSON object) is written to RESULT atomically. Exceptions become a result with a status:
``oom`` for memory exhaustion, ``unsupported`` for :class:`~cnnbench.errors.Unsupported`,
``failed`` otherwise. Signals, kills and hangs are the parent's to classify.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any

OOM_MARKERS = (
    "out of memory",
    "can't allocate memory",
    "cannot allocate memory",
    "failed to allocate",
    "std::bad_alloc",
)


def classify_exception(exc: BaseException) -> str:
    """Status for an exception raised by a measurement."""
    from cnnbench.errors import Unsupported

    if isinstance(exc, MemoryError):
        return "oom"
    if isinstance(exc, Unsupported):
        return "unsupported"
    text = str(exc).lower()
    if any(marker in text for marker in OOM_MARKERS):
        return "oom"
    return "failed"


def _resolve(entry: str) -> Any:
    module_name, _, attr = entry.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m cnnbench.measure.worker JOB.json RESULT.json", file=sys.stderr)
        return 2
    job_path, result_path = argv
    with open(job_path) as fh:
        job = json.load(fh)
    # Die with the parent even when a launcher (perf stat) stands between us.
    from cnnbench.measure.isolation import set_parent_death_signal

    set_parent_death_signal()
    cores = job.get("cores")
    if cores:
        os.sched_setaffinity(0, cores)
    try:
        result = _resolve(job["entry"])(job.get("payload", {}))
        if not isinstance(result, dict):
            raise TypeError(f"entry {job['entry']} returned {type(result).__name__}, not a dict")
        result.setdefault("status", "ok")
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        result = {
            "status": classify_exception(exc),
            "error": f"{type(exc).__name__}: {exc}".strip()[:2000],
            "traceback": traceback.format_exc(limit=20)[-8000:],
        }
    result["affinity"] = sorted(os.sched_getaffinity(0))
    from cnnbench._fs import atomic_write

    atomic_write(result_path, json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
