"""Frozen specifications: the identity of a measurement.

A :class:`RunSpec` says *what* is measured (model, input shape, batch, target, mode); its
:class:`Budget` says *how long* the measurement may take. The content hash covers the identity
only: a re-run with a larger budget measures the same thing more precisely, so a resumed sweep
must recognise it as done.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput

if TYPE_CHECKING:
    from cnnbench.scenario import LoadgenSettings

# profile: latency, then the per-layer profile; replay: latency, then every distinct layer timed
# alone (measure/replay.py); loadgen: an MLPerf LoadGen scenario (scenario.py)
MODES = ("latency", "throughput", "profile", "replay", "loadgen")
PRECISIONS = ("fp32", "bf16", "fp16", "int8")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class IntRange:
    """The integers from ``lo`` to ``hi``, both included: the documented range of a setting."""

    lo: int
    hi: int

    def __str__(self) -> str:
        return f"an integer from {self.lo} to {self.hi}"

    @property
    def short(self) -> str:
        """The range in a few characters, for help texts: ``1..65536``."""
        return f"{self.lo}..{self.hi}"

    def contains(self, value: object) -> bool:
        return (
            isinstance(value, int) and not isinstance(value, bool) and self.lo <= value <= self.hi
        )

    def check(self, value: object, what: str) -> int:
        """``value`` when it lies in the range, else a :class:`BadInput` naming ``what``."""
        if not self.contains(value):
            raise BadInput(f"{what} must be {self}, got {_show(value)}")
        assert isinstance(value, int)
        return value


@dataclass(frozen=True)
class FloatRange:
    """Finite numbers above ``lo`` (excluded) up to ``hi`` (included unless ``hi_open``)."""

    lo: float
    hi: float
    hi_open: bool = False

    def __str__(self) -> str:
        return f"a number > {self.lo:g} and {'<' if self.hi_open else '<='} {self.hi:g}"

    @property
    def short(self) -> str:
        """The range in a few characters, for help texts: ``0 < x <= 86400``."""
        return f"{self.lo:g} < x {'<' if self.hi_open else '<='} {self.hi:g}"

    def contains(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if isinstance(value, int) and abs(value) > 2**63:  # no float for it; out of any range
            return False
        v = float(value)
        return math.isfinite(v) and self.lo < v and (v < self.hi if self.hi_open else v <= self.hi)

    def check(self, value: object, what: str) -> float:
        """``value`` as a float when it lies in the range, else a :class:`BadInput`."""
        if not self.contains(value):
            raise BadInput(f"{what} must be {self}, got {_show(value)}")
        assert isinstance(value, int | float)
        return float(value)


# The documented range of every numeric setting. The CLI shows them in its help and checks them
# as it parses; the specs below check them again, so a spec built through the API, read back
# from a store or imported from a file is held to the same limits.
BATCH = IntRange(1, 65_536)  # the batch of a measurement, and the largest of a throughput sweep
THREADS = IntRange(1, 1024)  # intra-op threads
STREAMS = IntRange(1, 1024)  # concurrent requests in flight
CPU_NUMBER = IntRange(0, 8191)  # a CPU in an affinity list (Linux's NR_CPUS is at most 8192)
INPUT_RANK = IntRange(1, 8)  # dimensions of the per-sample input shape
INPUT_DIM = IntRange(1, 65_536)  # each dimension of the per-sample input shape
INPUT_ELEMENTS_MAX = 2**30  # elements of one sample (4 GiB of fp32)
BUDGET_S = FloatRange(0, 86_400)  # seconds of timing per measurement (one day at most)
WARMUP_S = FloatRange(0, 86_400)  # the longest warm-up, seconds
MIN_SAMPLES = IntRange(1, 100_000)  # timed calls before a measurement may stop
MAX_SAMPLES = IntRange(1, 10_000_000)  # timed calls at most
TARGET_REL_CI = FloatRange(0, 1, hi_open=True)  # CI95 half-width relative to the median
TIMEOUT_S = FloatRange(0, 7 * 86_400)  # seconds a configuration's worker may take (one week)
ROUNDS = IntRange(1, 1000)  # interleaved rounds per comparison
PROFILE_CALLS = IntRange(1, 1000)  # calls made under an engine's profiler (mode profile)
IDLE_S_RANGE = FloatRange(0, 3600)  # seconds of idle-power baseline before an energy window
TDP_W_RANGE = FloatRange(0, 100_000)  # a user's TDP for an estimated energy figure, watts
LIST_LIMIT = IntRange(1, 1_000_000)  # rows a listing shows

NAME_MAX_CHARS = 4096  # an engine, device, ISA, probe or option name or value

# A target's node selection (executors with several nodes, docs/fleet.md): ``each`` (true: one
# record per matching machine; default: any one matching node), then what a node must match.
NODE_KEYS = ("each", "machine", "host", "cpu", "isa", "gpu", "resource")
NODE_LABEL_PREFIX = "label."  # label.KEY=VALUE: a Ray node label
NODE_FLAGS = ("each", "gpu")  # true or false


def _name(value: object, what: str, *, optional: bool = False) -> None:
    """A non-blank string of sane length (None too when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{what} must be a non-empty string, got {_show(value)}")
    if len(value) > NAME_MAX_CHARS:
        raise BadInput(f"{what} is longer than {NAME_MAX_CHARS} characters")


def check_input_shape(shape: object) -> tuple[int, ...]:
    """A per-sample input shape (a tuple or list) within :data:`INPUT_RANK`, :data:`INPUT_DIM`
    and :data:`INPUT_ELEMENTS_MAX`, as a tuple; a :class:`BadInput` otherwise."""
    if isinstance(shape, list):
        shape = tuple(shape)
    if not isinstance(shape, tuple) or not shape:
        raise BadInput(f"the input shape must be a non-empty list of integers, got {_show(shape)}")
    if not INPUT_RANK.contains(len(shape)):
        raise BadInput(f"the input shape has {len(shape)} dimensions; it may have 1 to 8")
    for dim in shape:
        INPUT_DIM.check(dim, "every input dimension")
    if math.prod(shape) > INPUT_ELEMENTS_MAX:
        raise BadInput(
            f"the input shape {'x'.join(map(str, shape))} holds {math.prod(shape)} elements "
            f"per sample; at most {INPUT_ELEMENTS_MAX} are allowed"
        )
    return shape


@dataclass(frozen=True)
class ModelRef:
    """A model reference: a registry name (``resnet50``), later also a file or factory."""

    name: str

    def __post_init__(self) -> None:
        _name(self.name, "a model name")

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Target:
    """An engine on a device with a configuration: one "processor" of the studies."""

    engine: str
    device: str = "cpu"
    threads: int | None = None
    cores: tuple[int, ...] | None = None
    isa: str | None = None
    precision: str = "fp32"
    streams: int = 1
    options: tuple[tuple[str, str], ...] = ()
    isa_strict: bool = False  # refuse any node above the ISA cap, not only compute kernels
    name: str | None = None  # a study's named target (a label: not part of the identity)
    # Where it may run (a fleet's nodes): (key, value) pairs of NODE_KEYS; not the identity.
    node: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _name(self.engine, "the engine")
        _name(self.name, "the target name", optional=True)
        object.__setattr__(self, "node", check_node_selection(self.node))
        _name(self.device, "the device")
        _name(self.isa, "the ISA cap", optional=True)
        if not isinstance(self.isa_strict, bool):
            raise BadInput(f"isa_strict must be true or false, got {_show(self.isa_strict)}")
        if self.isa_strict and self.isa is None:
            raise BadInput("a strict ISA cap needs an ISA cap")
        if self.threads is not None:
            THREADS.check(self.threads, "threads")
        STREAMS.check(self.streams, "streams")
        if self.precision not in PRECISIONS:
            raise BadInput(
                f"unknown precision {_show(self.precision)}; choose one of {', '.join(PRECISIONS)}"
            )
        if isinstance(self.cores, list):
            object.__setattr__(self, "cores", tuple(self.cores))
        if self.cores is not None:
            if not isinstance(self.cores, tuple):
                raise BadInput(f"the CPUs must be a list of CPU numbers, got {_show(self.cores)}")
            if not self.cores:
                raise BadInput("the list of CPUs is empty")
            for core in self.cores:
                CPU_NUMBER.check(core, "a CPU number")
            if tuple(sorted(set(self.cores))) != self.cores:
                object.__setattr__(self, "cores", tuple(sorted(set(self.cores))))
        if not isinstance(self.options, tuple | list):
            raise BadInput(f"engine options must be (key, value) pairs, got {_show(self.options)}")
        keys: set[str] = set()
        for pair in self.options:
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise BadInput(f"an engine option must be a (key, value) pair, got {_show(pair)}")
            key, value = pair
            _name(key, "an engine option's name")
            if not isinstance(value, str) or len(value) > NAME_MAX_CHARS:
                raise BadInput(f"engine option {key}: the value must be a string")
            if key in keys:
                raise BadInput(f"engine option {key} is given twice")
            keys.add(key)
        options = tuple(sorted((k, v) for k, v in self.options))
        if options != self.options:
            object.__setattr__(self, "options", options)

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)


def check_node_selection(pairs: object) -> tuple[tuple[str, str], ...]:
    """A node selection as sorted (key, value) pairs; a :class:`BadInput` names a defect."""
    if isinstance(pairs, dict):
        pairs = tuple(pairs.items())
    if not isinstance(pairs, tuple | list):
        raise BadInput(f"a node selection must be KEY=VALUE pairs, got {_show(pairs)}")
    out: dict[str, str] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise BadInput(f"a node selection entry must be a (key, value) pair, got {_show(pair)}")
        key, value = pair
        if isinstance(value, bool):
            value = "true" if value else "false"
        _name(key, "a node selection key")
        _name(value, f"node selection {key}")
        if key not in NODE_KEYS and not (
            key.startswith(NODE_LABEL_PREFIX) and len(key) > len(NODE_LABEL_PREFIX)
        ):
            raise BadInput(
                f"unknown node selection key {_show(key)}; "
                f"choose one of {', '.join(NODE_KEYS)}, or {NODE_LABEL_PREFIX}NAME"
            )
        if key in NODE_FLAGS and value not in ("true", "false"):
            raise BadInput(f"node selection {key} must be true or false, got {_show(value)}")
        if key in out:
            raise BadInput(f"node selection {key} is given twice")
        out[key] = value
    return tuple(sorted(out.items()))


@dataclass(frozen=True)
class Budget:
    """How long a measurement may take and when it may stop early."""

    seconds: float = 3.0
    min_samples: int = 10
    max_samples: int = 200_000
    target_rel_ci: float = 0.01
    warmup_max_s: float | None = None
    profile_calls: int = 10  # mode profile: calls under the engine's profiler after timing

    def __post_init__(self) -> None:
        BUDGET_S.check(self.seconds, "the budget in seconds")
        MIN_SAMPLES.check(self.min_samples, "the minimum sample count")
        MAX_SAMPLES.check(self.max_samples, "the maximum sample count")
        if self.max_samples < self.min_samples:
            raise BadInput("the maximum sample count is below the minimum")
        TARGET_REL_CI.check(self.target_rel_ci, "the target confidence half-width")
        if self.warmup_max_s is not None:
            WARMUP_S.check(self.warmup_max_s, "the longest warm-up in seconds")
        PROFILE_CALLS.check(self.profile_calls, "the number of profiled calls")

    @property
    def warmup_limit_s(self) -> float:
        """Warm-up may take at most this long (a quarter of the budget unless set)."""
        return self.warmup_max_s if self.warmup_max_s is not None else max(0.5, self.seconds / 4)


@dataclass(frozen=True)
class RunSpec:
    """One measurement: model, per-sample input shape, batch, target, mode, budget."""

    model: ModelRef
    input_shape: tuple[int, ...]
    batch: int
    target: Target
    mode: str = "latency"
    budget: Budget = field(default_factory=Budget)
    probes: tuple[str, ...] = ()  # probe names or module:Class refs (measure.probes)
    loadgen: LoadgenSettings | None = None  # mode loadgen only: the scenario and its settings

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelRef):
            raise BadInput(f"the model must be a ModelRef, got {_show(self.model)}")
        if not isinstance(self.target, Target):
            raise BadInput(f"the target must be a Target, got {_show(self.target)}")
        if not isinstance(self.budget, Budget):
            raise BadInput(f"the budget must be a Budget, got {_show(self.budget)}")
        BATCH.check(self.batch, "batch")
        shape = check_input_shape(self.input_shape)
        if shape != self.input_shape:
            object.__setattr__(self, "input_shape", shape)
        if isinstance(self.probes, list):
            object.__setattr__(self, "probes", tuple(self.probes))
        if not isinstance(self.probes, tuple):
            raise BadInput(f"probes must be a tuple of names, got {_show(self.probes)}")
        for probe in self.probes:
            _name(probe, "a probe name")
        if self.mode not in MODES:
            raise BadInput(f"unknown mode {_show(self.mode)}; choose one of {', '.join(MODES)}")
        if (self.mode == "loadgen") != (self.loadgen is not None):
            raise BadInput("mode loadgen goes with a LoadGen scenario, and only it")
        if self.loadgen is not None and self.loadgen.scenario == "SingleStream" and self.batch > 1:
            raise BadInput("a SingleStream query is one sample: batch must be 1")

    @property
    def full_input_shape(self) -> tuple[int, ...]:
        return (self.batch, *self.input_shape)

    def identity(self) -> dict[str, Any]:
        """The flat ``spec`` section of a result record (without the budget).

        ``probes`` appears only when some are named, so specs without probes keep the hash they
        had before probes existed (stores and exports made then still resume).
        """
        t = self.target
        d: dict[str, Any] = {
            "model": self.model.name,
            "input_shape": list(self.input_shape),
            "batch": self.batch,
            "engine": t.engine,
            "device": t.device,
            "precision": t.precision,
            "threads": t.threads,
            "streams": t.streams,
            "cores": list(t.cores) if t.cores is not None else None,
            "isa": t.isa,
            "mode": self.mode,
            "options": {k: v for k, v in t.options},
        }
        if self.probes:
            d["probes"] = list(self.probes)
        if t.isa_strict:  # only when set: hashes of specs made before the flag still hold
            d["isa_strict"] = True
        if self.loadgen is not None:  # only when set, likewise
            d["loadgen"] = self.loadgen.identity()
        return d

    def comparison_key(self) -> tuple[object, ...]:
        """Specs with equal keys differ only in their target: one comparison (interleaved
        when measured, a speedup against the first when shown)."""
        return (self.model, self.input_shape, self.batch, self.mode, self.probes, self.loadgen)

    def spec_hash(self) -> str:
        """A stable content hash of the identity: sorted-key JSON, SHA-256, 20 hex digits."""
        canonical = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:20]

    def to_dict(self) -> dict[str, Any]:
        d = self.identity()
        b = self.budget
        d["budget"] = {
            "seconds": b.seconds,
            "min_samples": b.min_samples,
            "max_samples": b.max_samples,
            "target_rel_ci": b.target_rel_ci,
            "warmup_max_s": b.warmup_max_s,
        }
        if b.profile_calls != Budget.profile_calls:  # only when set: older records stay equal
            d["budget"]["profile_calls"] = b.profile_calls
        if self.loadgen is not None:  # with the run's length, which the identity leaves out
            d["loadgen"] = self.loadgen.to_dict()
        if self.target.name is not None:
            d["target"] = self.target.name
        if self.target.node:  # where it may run: outside the identity (the machine is the key)
            d["node"] = dict(self.target.node)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        """The spec of :meth:`to_dict` (a record's ``spec``): every field checked, no coercion."""
        if not isinstance(d, dict):
            raise BadInput(f"a run spec must be an object, got {_show(d)}")
        try:
            options = d.get("options") or {}
            if not isinstance(options, dict):
                raise BadInput(f"options must be an object, got {_show(options)}")
            cores = d.get("cores")
            if cores is not None and not isinstance(cores, list):
                raise BadInput(f"cores must be a list of CPU numbers, got {_show(cores)}")
            shape = d.get("input_shape")
            if not isinstance(shape, list):
                raise BadInput(f"input_shape must be a list of integers, got {_show(shape)}")
            probes = d.get("probes") or []
            if not isinstance(probes, list):
                raise BadInput(f"probes must be a list of names, got {_show(probes)}")
            budget = d.get("budget")
            if budget is not None and not isinstance(budget, dict):
                raise BadInput(f"budget must be an object, got {_show(budget)}")
            target = Target(
                engine=d["engine"],
                device=d.get("device", "cpu"),
                threads=d.get("threads"),
                cores=tuple(cores) if cores is not None else None,
                isa=d.get("isa"),
                precision=d.get("precision", "fp32"),
                streams=d.get("streams", 1),
                options=tuple(sorted(options.items())),
                isa_strict=d.get("isa_strict", False),
                name=d.get("target"),
                node=d.get("node") or (),
            )
            loadgen = None
            if d.get("loadgen") is not None:
                from cnnbench.scenario import LoadgenSettings

                loadgen = LoadgenSettings.from_dict(d["loadgen"])
            return cls(
                model=ModelRef(d["model"]),
                input_shape=tuple(shape),
                batch=d["batch"],
                target=target,
                mode=d.get("mode", "latency"),
                budget=Budget(**budget) if budget else Budget(),
                probes=tuple(probes),
                loadgen=loadgen,
            )
        except KeyError as exc:
            raise BadInput(f"a run spec needs {exc.args[0]!r}") from None
        except TypeError as exc:  # an unknown or missing budget field
            raise BadInput(f"not a valid run spec: {exc}") from None

    def with_batch(self, batch: int) -> RunSpec:
        return replace(self, batch=batch)
