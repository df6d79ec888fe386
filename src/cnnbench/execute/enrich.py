"""Figures the parent adds to a measured record: the roofline against this machine's peaks.

The cost section comes from the worker (no user code and no export run in the parent); the
roofline arithmetic lives in :mod:`cnnbench.results.roofline`.
"""

from __future__ import annotations

from dataclasses import replace

from cnnbench.results.record import ResultRecord
from cnnbench.results.roofline import Peaks, record_roofline


def with_roofline(rec: ResultRecord, peaks: Peaks) -> ResultRecord:
    """An ok record with its roofline (from its cost and images/s); other records unchanged.
    A figure above the measured peak becomes a record warning too."""
    if rec.status != "ok":
        return rec
    line = record_roofline(rec, peaks)
    warnings = (*rec.warnings, line.warning) if line.warning else rec.warnings
    return replace(rec, roofline=line, warnings=warnings)
