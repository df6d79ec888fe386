"""The probe protocol: hooks around the timed window of a worker, or around the worker itself.

A :class:`Probe` wraps the timed window inside the worker (``start()`` just before the first
timed call, ``stop()`` just after the last): an energy meter, a counter group, a profiler. A
:class:`LauncherProbe` wraps the whole worker process through a launcher prefix
(``valgrind --tool=cachegrind``, ``perf stat``) and reads what the tool wrote once the worker
has ended. Both give a :class:`ProbeReading` that names its ``source``; a probe that cannot
measure here gives ``source="none"`` and the reason, never a zero.

:class:`ProbeReading` is a record type and lives in :mod:`cnnbench.results.meters` (the record
keeps every reading and builds its ``energy`` and ``counters`` sections from them); it is
re-exported here.

Probes are named in a run spec (``RunSpec.probes``) and resolved in the worker by
:func:`get_probe`: a registered name, or ``package.module:Class`` for a probe of one's own.
"""

from __future__ import annotations

import difflib
import importlib
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from cnnbench.errors import BadInput
from cnnbench.results.meters import KINDS, ProbeReading, Value

__all__ = [
    "KINDS",
    "LauncherProbe",
    "NullProbe",
    "Probe",
    "ProbeReading",
    "SideProbe",
    "Value",
    "get_probe",
    "probe_names",
    "probe_window",
    "register_probe",
]


class Probe(ABC):
    """A hook around the timed window, run inside the worker."""

    name: ClassVar[str]
    kind: ClassVar[str]

    @abstractmethod
    def start(self) -> None:
        """Called right before the first timed call."""

    @abstractmethod
    def stop(self) -> ProbeReading:
        """Called right after the last timed call; the reading of the window."""

    def bind(self, device: str) -> None:  # noqa: B027 (optional hook)
        """The run's device (``cpu``, ``cuda:0``), before anything else; optional."""

    def baseline(self, seconds: float | None = None) -> None:  # noqa: B027 (optional hook)
        """Before the warm-up, the model loaded and idle: e.g. an energy meter's idle power."""

    @property
    def min_window_s(self) -> float:
        """The shortest window this probe can measure; the workload is repeated inside the
        window until it lasts that long (a meter slower than the timed calls)."""
        return 0.0


class LauncherProbe(ABC):
    """A probe that wraps the worker process: a command prefix, then a reading of its output."""

    name: ClassVar[str]
    kind: ClassVar[str]

    @abstractmethod
    def launcher(self, out_dir: Path) -> list[str]:
        """The prefix put before ``python -m cnnbench.measure.worker``; writes into out_dir."""

    @abstractmethod
    def collect(self, out_dir: Path, returncode: int | None) -> ProbeReading:
        """Read what the tool wrote once the worker has ended."""

    def env(self, out_dir: Path) -> dict[str, str]:
        """Variables for the worker (e.g. where perf's control fifo is); none by default."""
        return {}


class NullProbe(Probe):
    """Measures nothing; proves the hook (its reading carries the window's length)."""

    name = "null"
    kind = "other"

    def __init__(self) -> None:
        self._t0: int | None = None

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> ProbeReading:
        if self._t0 is None:
            return ProbeReading.unavailable(self.name, self.kind, "stop() without start()")
        window = (time.perf_counter_ns() - self._t0) / 1e9
        return ProbeReading(self.name, self.kind, "null", {}, None, window)


class SideProbe(ABC):
    """A probe measured by workers of its own beside the run (cachegrind's differential of two
    iteration counts): ``measure(spec_json, timeout_s)`` runs in the parent after the run."""

    name: ClassVar[str]
    kind: ClassVar[str]

    @abstractmethod
    def measure(self, spec: dict[str, object], timeout_s: float) -> ProbeReading:
        """The reading, from workers started here (isolated like every measurement)."""


AnyProbe = type[Probe] | type[LauncherProbe] | type[SideProbe]
_PROBES: dict[str, AnyProbe] = {"null": NullProbe}
# The project's own probes, imported when first named (they import what measures them).
_BUILTIN = {
    "energy": "cnnbench.measure.probes.energy:AutoEnergyProbe",
    "rapl": "cnnbench.measure.probes.energy:RaplProbe",
    "nvml": "cnnbench.measure.probes.energy:NvmlProbe",
    "clock": "cnnbench.measure.probes.clock:ClockProbe",
    "load": "cnnbench.measure.probes.load:LoadProbe",
    "perf": "cnnbench.measure.probes.perf:PerfProbe",
    "cachegrind": "cnnbench.measure.probes.cachegrind:CachegrindProbe",
}


def register_probe(cls: AnyProbe) -> AnyProbe:
    if (cls.name in _PROBES and _PROBES[cls.name] is not cls) or cls.name in _BUILTIN:
        raise ValueError(f"probe {cls.name!r} is registered twice")
    _PROBES[cls.name] = cls
    return cls


def probe_names() -> list[str]:
    return sorted({*_PROBES, *_BUILTIN})


def check_probe_ref(ref: str) -> None:
    """Check a probe reference in the parent without importing anything from outside: a
    registered name, or the ``package.module:Class`` form (resolved in the worker only)."""
    if not isinstance(ref, str) or not ref.strip():
        raise BadInput("a probe name must be a non-empty string")
    if ":" in ref:
        module_name, _, attr = ref.partition(":")
        parts = [*module_name.split("."), attr]
        if not all(part.isidentifier() for part in parts):
            raise BadInput(f"probe {ref!r}: expected a registered name or package.module:Class")
        return
    get_probe(ref)


def get_probe(ref: str) -> AnyProbe:
    """A registered probe by name, or ``package.module:Class``; unknown names are BadInput."""
    if ":" in ref:
        module_name, _, attr = ref.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise BadInput(f"probe {ref!r} cannot be loaded: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Probe | LauncherProbe | SideProbe)):
            raise BadInput(f"probe {ref!r} is not a Probe or LauncherProbe class")
        return cls
    if ref in _BUILTIN and ref not in _PROBES:
        module_name, _, attr = _BUILTIN[ref].partition(":")
        _PROBES[ref] = getattr(importlib.import_module(module_name), attr)
    found = _PROBES.get(ref)
    if found is None:
        known = probe_names()
        close = difflib.get_close_matches(ref, known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"unknown probe {ref!r}{hint} (known: {', '.join(known)})")
    return found


class ProbeWindow:
    """Starts every probe on entry, stops them in reverse order on exit (also on an error).

    ``readings`` (also what ``with`` gives) is filled on exit, in the probes' order. A probe that
    fails to start or stop gives a reading with source ``none`` and the error; the measurement
    goes on. The window can be made before it is entered, so a timing loop can enter it right
    before its first timed call.
    """

    def __init__(self, probes: Sequence[Probe]) -> None:
        self.probes = list(probes)
        self.readings: list[ProbeReading] = []
        self._started: list[int] = []
        self._failed: dict[int, str] = {}

    def __enter__(self) -> list[ProbeReading]:
        for i, probe in enumerate(self.probes):
            try:
                probe.start()
                self._started.append(i)
            except Exception as exc:
                self._failed[i] = f"start failed: {type(exc).__name__}: {exc}"
        return self.readings

    def __exit__(self, *exc: object) -> None:
        stopped: dict[int, ProbeReading] = {}
        for i in reversed(self._started):
            try:
                stopped[i] = self.probes[i].stop()
            except Exception as err:
                self._failed[i] = f"stop failed: {type(err).__name__}: {err}"
        for i, probe in enumerate(self.probes):
            if i in stopped:
                self.readings.append(stopped[i])
            else:
                reason = self._failed.get(i, "the window was never entered")
                self.readings.append(ProbeReading.unavailable(probe.name, probe.kind, reason))


def probe_window(probes: Sequence[Probe]) -> ProbeWindow:
    """A :class:`ProbeWindow` over ``probes`` (``with probe_window(p) as readings: ...``)."""
    return ProbeWindow(probes)
