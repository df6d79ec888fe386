"""The engine protocol and the engine registry.

``Engine.available()`` says whether the engine's package is importable (without importing it),
``Engine.info()`` gives name, version and devices, ``Engine.prepare(model, target)`` returns a
:class:`Session`. A session turns a NumPy array into engine-native inputs once, before timing,
then ``run(inputs)`` is one synchronous inference: it returns only when the results are ready
(device synchronised). ``infer_queue(inputs, size)`` keeps up to ``size`` requests in flight (an
:class:`InferQueue`) for throughput. Engines offer primitives only: they never read a clock,
keep a deadline or compute a rate (timing lives in :mod:`cnnbench.measure`). An engine that
cannot honour a requested setting raises :class:`~cnnbench.errors.Unsupported` with the reason;
it never ignores a setting.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cnnbench.engines._options import Option
from cnnbench.errors import BadInput, Unsupported
from cnnbench.models.instance import ModelInstance

if TYPE_CHECKING:
    import numpy as np

    from cnnbench.spec import Target


@dataclass(frozen=True)
class EngineInfo:
    name: str
    installed: bool
    version: str | None
    devices: tuple[str, ...] = ()
    package: str = ""
    reason: str | None = None  # why it is not installed / usable

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "installed": self.installed,
            "version": self.version,
            "devices": list(self.devices),
            "package": self.package,
            "reason": self.reason,
        }


class InferQueue(ABC):
    """Up to ``size`` inference requests in flight, all on the inputs the queue was made with.

    One thread submits: :meth:`wait_idle` blocks (without holding the GIL) until a request is
    idle, :meth:`submit` starts one (blocking the same way first if none is idle) and calls
    ``on_done`` (no arguments) when that request has completed, from whichever thread saw it
    complete; ``on_done`` must be short and must not submit. :meth:`wait_all` returns once
    every started request has completed and its ``on_done`` has returned, and raises the first
    error a request raised (later :meth:`submit` calls raise it too). :meth:`close` (also on
    leaving a ``with`` block) waits for the requests in flight and releases the queue.
    """

    size: int

    @abstractmethod
    def wait_idle(self) -> None:
        """Block until a request is idle (the next :meth:`submit` then starts at once)."""

    @abstractmethod
    def submit(self, on_done: Callable[[], None]) -> None:
        """Start one request on an idle slot; ``on_done()`` runs when it completes."""

    @abstractmethod
    def wait_all(self) -> None:
        """Block until every started request has completed."""

    def close(self) -> None:
        self.wait_all()

    def __enter__(self) -> InferQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class EngineLayer:
    """One executed node as the engine's own profiler reports it, for one profiled call.

    Raw, engine-specific data; :mod:`cnnbench.measure` normalises it into the record's layer
    records (taxonomy type, cost of the source layers, median over calls). Times are what the
    profiler measured, in microseconds; ``source_layers`` names the nodes of the graph the engine
    was given (ONNX node names, or torch module paths) that this node executes.
    """

    name: str  # the executed node's name in the engine's runtime graph
    op_type: str  # the engine's node type (OpenVINO layer type, ORT op type, torch op or module)
    time_us: float  # wall time of this node in the profiled call
    source_layers: tuple[str, ...] = ()
    kernel: str | None = None  # exec_type / implementation / provider, where reported
    cpu_time_us: float | None = None  # where the profiler reports it apart from wall time
    calls: int = 1  # times the node ran in the call


Around = Callable[[Callable[[], object]], object]
"""Runs one profiled call: the caller's wrapper (``cnnbench.measure`` times it; engines never
read a clock). An engine calls it once per reported call, never for unreported warm-ups."""


def call_with(around: Around | None, call: Callable[[], object]) -> object:
    return call() if around is None else around(call)


class Session(ABC):
    """A prepared model on one engine and target."""

    @abstractmethod
    def make_inputs(self, array: np.ndarray) -> Any:
        """Engine-native inputs from a float32 NumPy array (done once, outside timing)."""

    @abstractmethod
    def run(self, inputs: Any) -> Any:
        """One synchronous inference."""

    @abstractmethod
    def to_numpy(self, outputs: Any) -> np.ndarray:
        """The first output as a float32 NumPy array."""

    @abstractmethod
    def effective(self) -> dict[str, Any]:
        """What the engine really uses: precision, threads, streams, device, ISA/kernels."""

    def context(self) -> contextlib.AbstractContextManager[None]:
        """Entered once around warm-up and timing (e.g. torch's inference mode)."""
        return contextlib.nullcontext()

    def infer_queue(self, inputs: Any, size: int) -> InferQueue:
        """A queue of ``size`` requests in flight on ``inputs`` (from :meth:`make_inputs`);
        engines that can run several independent requests at once override this."""
        raise Unsupported(f"{type(self).__name__} cannot keep several requests in flight")

    def profile(
        self, inputs: Any, calls: int, around: Around | None = None
    ) -> list[list[EngineLayer]]:
        """``calls`` synchronous calls under the engine's own profiler, one list of executed
        nodes per call (in execution order), each call made through ``around`` when given.
        Engines without a profiler raise Unsupported."""
        raise Unsupported(f"{type(self).__name__} has no per-layer profiler")

    def timed_call(self, inputs: Any) -> Callable[[], object]:
        """The zero-argument callable the timing loop brackets."""
        run = self.run
        return lambda: run(inputs)


class Engine(ABC):
    """One inference engine; subclasses register with :func:`register_engine`."""

    name: ClassVar[str]
    package: ClassVar[str]  # the distribution whose presence makes the engine available
    module: ClassVar[str]  # the importable module
    options: ClassVar[tuple[Option, ...]] = ()  # what --option KEY=VALUE accepts
    runs_onnx_files: ClassVar[bool] = True  # a user's .onnx file (no torch module) runs on it

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(cls.module) is not None

    @classmethod
    def version(cls) -> str | None:
        try:
            return importlib.metadata.version(cls.package)
        except importlib.metadata.PackageNotFoundError:
            return None

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        return ("cpu",)

    @classmethod
    def info(cls) -> EngineInfo:
        if not cls.available():
            return EngineInfo(
                cls.name, False, None, (), cls.package, f"pip package {cls.package!r} not installed"
            )
        return EngineInfo(cls.name, True, cls.version(), cls.devices(), cls.package)

    @classmethod
    def folds_batchnorm(cls, target: Target) -> bool:
        """Whether the graph this engine runs for ``target`` has BatchNorm folded into the
        preceding conv: its ``fold_bn`` option (checked), else True (the exporter folds it).
        The cost model reads the ONNX export made the same way."""
        from cnnbench.engines._options import parse_options

        if not any(o.name == "fold_bn" for o in cls.options):
            return True
        return bool(parse_options(cls.name, cls.options, target.options).flag("fold_bn"))

    @abstractmethod
    def prepare(self, model: ModelInstance, target: Target) -> Session:
        """Build a session for ``model`` honouring every setting of ``target``."""


_ENGINES: dict[str, type[Engine]] = {}


def register_engine(cls: type[Engine]) -> type[Engine]:
    if cls.name in _ENGINES and _ENGINES[cls.name] is not cls:
        raise ValueError(f"engine {cls.name!r} is registered twice")
    _ENGINES[cls.name] = cls
    return cls


def unregister_engine(name: str) -> None:
    _ENGINES.pop(name, None)


def engine_names() -> list[str]:
    _load_builtin()
    return sorted(_ENGINES)


def get_engine(name: str, *, require_installed: bool = True) -> type[Engine]:
    """The engine class for ``name``: unknown or not installed is a clear :class:`BadInput`."""
    _load_builtin()
    cls = _ENGINES.get(name)
    if cls is None:
        close = difflib.get_close_matches(name, list(_ENGINES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"unknown engine {name!r}{hint} (known: {', '.join(sorted(_ENGINES))})")
    if require_installed and not cls.available():
        raise BadInput(
            f"engine {name!r} is not installed (pip install {cls.package}); "
            f"installed engines: {', '.join(installed_engines()) or 'none'}"
        )
    return cls


def installed_engines() -> list[str]:
    _load_builtin()
    return [n for n in sorted(_ENGINES) if _ENGINES[n].available()]


def iter_engines() -> Iterator[type[Engine]]:
    _load_builtin()
    for name in sorted(_ENGINES):
        yield _ENGINES[name]


def _load_builtin() -> None:
    from cnnbench.engines import _builtin  # noqa: F401
