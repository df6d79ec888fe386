"""Frozen specifications: the identity of a measurement.

A :class:`RunSpec` says *what* is measured (model, input shape, batch, target, mode); its
:class:`Budget` says *how long* the measurement may take. The content hash covers the identity
only: a re-run with a larger budget measures the same thing more precisely, so a resumed sweep
must recognise it as done.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from cnnbench.errors import BadInput

MODES = ("latency", "throughput")
PRECISIONS = ("fp32", "bf16", "fp16", "int8")


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadInput(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class ModelRef:
    """A model reference: a registry name (``resnet50``), later also a file or factory."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise BadInput("a model name must be a non-empty string")

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

    def __post_init__(self) -> None:
        if self.threads is not None:
            _positive_int(self.threads, "threads")
        _positive_int(self.streams, "streams")
        if self.precision not in PRECISIONS:
            raise BadInput(
                f"unknown precision {self.precision!r}; choose one of {', '.join(PRECISIONS)}"
            )
        if self.cores is not None:
            if not self.cores:
                raise BadInput("the list of CPUs is empty")
            for core in self.cores:
                if isinstance(core, bool) or not isinstance(core, int) or core < 0:
                    raise BadInput(f"CPU numbers must be non-negative integers, got {core!r}")
            if tuple(sorted(set(self.cores))) != self.cores:
                object.__setattr__(self, "cores", tuple(sorted(set(self.cores))))
        if tuple(sorted(self.options)) != self.options:
            object.__setattr__(self, "options", tuple(sorted(self.options)))

    def option(self, key: str, default: str | None = None) -> str | None:
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class Budget:
    """How long a measurement may take and when it may stop early."""

    seconds: float = 3.0
    min_samples: int = 10
    max_samples: int = 200_000
    target_rel_ci: float = 0.01
    warmup_max_s: float | None = None

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise BadInput(f"the budget must be a positive number of seconds, got {self.seconds}")
        _positive_int(self.min_samples, "the minimum sample count")
        _positive_int(self.max_samples, "the maximum sample count")
        if self.max_samples < self.min_samples:
            raise BadInput("the maximum sample count is below the minimum")
        if not 0 < self.target_rel_ci < 1:
            raise BadInput("the target confidence half-width must lie in (0, 1)")

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

    def __post_init__(self) -> None:
        _positive_int(self.batch, "batch")
        if any(not isinstance(p, str) or not p for p in self.probes):
            raise BadInput("probe names must be non-empty strings")
        if not self.input_shape:
            raise BadInput("the input shape is empty")
        for dim in self.input_shape:
            _positive_int(dim, "every input dimension")
        if self.mode not in MODES:
            raise BadInput(f"unknown mode {self.mode!r}; choose one of {', '.join(MODES)}")

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
        return d

    def comparison_key(self) -> tuple[object, ...]:
        """Specs with equal keys differ only in their target: one comparison (interleaved
        when measured, a speedup against the first when shown)."""
        return (self.model, self.input_shape, self.batch, self.mode, self.probes)

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
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSpec:
        try:
            cores = d.get("cores")
            target = Target(
                engine=str(d["engine"]),
                device=str(d.get("device", "cpu")),
                threads=d.get("threads"),
                cores=tuple(cores) if cores is not None else None,
                isa=d.get("isa"),
                precision=str(d.get("precision", "fp32")),
                streams=int(d.get("streams", 1)),
                options=tuple(sorted((str(k), str(v)) for k, v in d.get("options", {}).items())),
            )
            budget = Budget(**d["budget"]) if d.get("budget") else Budget()
            return cls(
                model=ModelRef(str(d["model"])),
                input_shape=tuple(d["input_shape"]),
                batch=d["batch"],
                target=target,
                mode=str(d.get("mode", "latency")),
                budget=budget,
                probes=tuple(str(p) for p in d.get("probes") or ()),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(f"not a valid run spec: {exc!r}") from exc

    def with_batch(self, batch: int) -> RunSpec:
        return replace(self, batch=batch)
