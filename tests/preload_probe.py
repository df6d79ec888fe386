"""Imported by a worker template before it forks: records what a library sees at import time."""

from __future__ import annotations

import os

SEEN = {
    "omp": os.environ.get("OMP_NUM_THREADS"),
    "onednn": os.environ.get("ONEDNN_MAX_CPU_ISA"),
    "affinity": sorted(os.sched_getaffinity(0)),
}
PID = os.getpid()
