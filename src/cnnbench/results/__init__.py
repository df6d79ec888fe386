"""Typed result records (schema ``cnnbench.result/1``), their sections and JSON-lines exchange.

Each section is a frozen dataclass with one ``to_json`` / ``from_json`` pair; a figure that
could not be had is a section with ``source == "none"`` and a reason, never zeros.

==================  ==============================================================
module              types
==================  ==============================================================
``record``          :class:`ResultRecord` (schema, validation), ``run_key``
``worker``          :class:`WorkerResult` (the worker -> parent contract)
``speed``           :class:`LatencyStats`, :class:`Throughput`, :class:`SweepPoint`,
                    :class:`Streams`
``rounds``          :class:`Timing`, :class:`RoundTiming`, :class:`Warmup`
``effective``       :class:`Effective`
``sections``        :class:`Cost`, :class:`Agreement`, :class:`LayerRecord`
``meters``          :class:`ProbeReading`, :class:`Energy`, :class:`Counters`
``roofline``        :class:`Roofline` and the roofline arithmetic
``exchange``        JSON lines export and import (strict JSON)
==================  ==============================================================
"""

from cnnbench.results.effective import Effective
from cnnbench.results.meters import Counters, Energy, ProbeReading
from cnnbench.results.record import SCHEMA, STATUSES, ResultRecord, run_key
from cnnbench.results.roofline import Roofline
from cnnbench.results.rounds import RoundTiming, Timing, Warmup
from cnnbench.results.sections import Agreement, Cost, LayerRecord
from cnnbench.results.speed import LatencyStats, Streams, SweepPoint, Throughput
from cnnbench.results.worker import WorkerResult

__all__ = [
    "SCHEMA",
    "STATUSES",
    "Agreement",
    "Cost",
    "Counters",
    "Effective",
    "Energy",
    "LatencyStats",
    "LayerRecord",
    "ProbeReading",
    "ResultRecord",
    "Roofline",
    "RoundTiming",
    "Streams",
    "SweepPoint",
    "Throughput",
    "Timing",
    "Warmup",
    "WorkerResult",
    "run_key",
]
