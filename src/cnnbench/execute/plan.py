"""From a request (models x engines x modes x one target configuration) to validated run specs.

Everything is validated before the first measurement, so bad input costs nothing and writes
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnbench.engines import get_engine, installed_engines
from cnnbench.errors import BadInput
from cnnbench.execute.resolve import resolve_models
from cnnbench.measure.probes.base import check_probe_ref
from cnnbench.spec import MODES, Budget, ModelRef, RunSpec, Target
from cnnbench.system.isa import get_cap


def resolve_engines(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for part in name.split(","):
            if part == "all":
                found = installed_engines()
                if not found:
                    raise BadInput("no engine is installed")
                out += [e for e in found if e not in out]
            elif part:
                get_engine(part)  # unknown or not installed -> BadInput
                if part not in out:
                    out.append(part)
    if not out:
        raise BadInput("no engine is named")
    return out


def resolve_modes(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for part in name.split(","):
            if part not in MODES:
                raise BadInput(f"unknown mode {part!r}; choose one of {', '.join(MODES)}")
            if part not in out:
                out.append(part)
    return out or ["latency"]


@dataclass(frozen=True)
class RunRequest:
    """What a user asked to measure, in values already parsed (the CLI, a study, the API)."""

    models: tuple[str, ...]
    engines: tuple[str, ...]
    modes: tuple[str, ...] = ("latency",)
    batch: int = 1
    max_batch: int = 256
    threads: int | None = None
    cores: tuple[int, ...] | None = None
    isa: str | None = None
    precision: str = "fp32"
    device: str = "cpu"
    streams: int = 1
    options: tuple[tuple[str, str], ...] = ()
    input_shape: tuple[int, ...] | None = None
    budget: Budget = field(default_factory=Budget)
    probes: tuple[str, ...] = ()
    resolve_timeout_s: float | None = None  # for resolving outside models in a worker


def plan(req: RunRequest) -> list[RunSpec]:
    """Validated specs, ordered model x mode x engine."""
    engines = resolve_engines(req.engines)
    modes = resolve_modes(req.modes)
    if req.isa is not None:
        get_cap(req.isa)
    for probe in req.probes:
        check_probe_ref(probe)  # unknown -> BadInput, before anything runs
    # Last: a reference to outside code is resolved in a worker (seconds).
    infos = resolve_models(req.models, req.input_shape, timeout_s=req.resolve_timeout_s)
    specs = []
    for info in infos:
        for mode in modes:
            for engine in engines:
                target = Target(
                    engine=engine,
                    device=req.device,
                    threads=req.threads,
                    cores=req.cores,
                    isa=req.isa,
                    precision=req.precision,
                    streams=req.streams,
                    options=tuple(sorted(req.options)),
                )
                batch = req.max_batch if mode == "throughput" else req.batch
                specs.append(
                    RunSpec(
                        ModelRef(info.name),
                        info.input_shape,
                        batch,
                        target,
                        mode,
                        req.budget,
                        req.probes,
                    )
                )
    return specs
