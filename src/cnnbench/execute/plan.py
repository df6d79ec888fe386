"""From a request (models x engines x modes x one target configuration) to validated run specs.

Everything is validated before the first measurement, so bad input costs nothing and writes
nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnbench.engines import get_engine, installed_engines
from cnnbench.errors import BadInput, Unsupported
from cnnbench.execute.resolve import resolve_models
from cnnbench.measure.probes.base import check_probe_ref
from cnnbench.scenario import LoadgenSettings, loadgen_missing
from cnnbench.spec import (
    BATCH,
    MODES,
    ROUNDS,
    TIMEOUT_S,
    Budget,
    ModelRef,
    RunSpec,
    Target,
    check_input_shape,
)
from cnnbench.system.isa import get_cap


def _parts(names: Sequence[str], what: str) -> list[str]:
    """Comma-separated names, each non-blank (``a,,b`` and a trailing comma are refused)."""
    out = []
    for name in names:
        if not isinstance(name, str):
            raise BadInput(f"{what} names must be strings, got {name!r}")
        for part in name.split(","):
            if not part.strip():
                raise BadInput(f"an empty {what} name in {name!r}")
            out.append(part.strip())
    return out


def resolve_engines(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for part in _parts(names, "engine"):
        if part == "all":
            found = installed_engines()
            if not found:
                raise BadInput("no engine is installed")
            out += [e for e in found if e not in out]
        else:
            get_engine(part)  # unknown or not installed -> BadInput
            if part not in out:
                out.append(part)
    if not out:
        raise BadInput("no engine is named")
    return out


def resolve_modes(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for part in _parts(names, "mode"):
        if part not in MODES:
            raise BadInput(f"unknown mode {part!r}; choose one of {', '.join(MODES)}")
        if part not in out:
            out.append(part)
    return out or ["latency"]


def check_options(engines: Sequence[str], options: Sequence[tuple[str, str]]) -> None:
    """Each option must be one that some named engine declares, with a value every engine that
    declares it accepts (an engine without it records the configuration as unsupported)."""
    tables = {e: {o.name: o for o in get_engine(e).options} for e in engines}
    for key, value in options:
        owners = [e for e in engines if key in tables[e]]
        if not owners:
            known = sorted({name for table in tables.values() for name in table})
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise BadInput(
                f"no engine named ({', '.join(engines)}) has an option {key!r}{hint} "
                f"(known: {', '.join(known) or 'none'})"
            )
        if not value.strip():
            continue  # an empty value means the engine's default
        for engine in owners:
            try:
                tables[engine][key].parse(engine, value)
            except Unsupported as exc:
                raise BadInput(str(exc)) from None


def loadgen_modes(req: RunRequest, modes: list[str]) -> list[str]:
    """A LoadGen scenario is its own mode; its extra must import (checked here, before any
    worker runs, so a missing extra is bad input and nothing is written)."""
    if modes not in (["latency"], ["loadgen"]):
        raise BadInput(f"a LoadGen scenario is a mode of its own, not with {', '.join(modes)}")
    missing = loadgen_missing()
    if missing:
        raise BadInput(missing)
    return ["loadgen"]


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
    isa_strict: bool = False
    precision: str = "fp32"
    device: str = "cpu"
    streams: int = 1
    options: tuple[tuple[str, str], ...] = ()
    input_shape: tuple[int, ...] | None = None
    budget: Budget = field(default_factory=Budget)
    probes: tuple[str, ...] = ()
    resolve_timeout_s: float | None = None  # for resolving outside models in a worker
    rounds: int | None = None  # interleaved rounds per comparison (None: the runner's default)
    timeout_s: float | None = None  # per configuration (None: from the budget)
    loadgen: LoadgenSettings | None = None  # a LoadGen scenario (mode loadgen) instead of modes
    node: tuple[tuple[str, str], ...] = ()  # where on a fleet (Target.node; docs/fleet.md)

    def __post_init__(self) -> None:
        for what, names in (("model", self.models), ("engine", self.engines)):
            if not isinstance(names, tuple) or not names:
                raise BadInput(f"no {what} is named")
        BATCH.check(self.batch, "batch")
        BATCH.check(self.max_batch, "the largest batch of a throughput sweep")
        if self.rounds is not None:
            ROUNDS.check(self.rounds, "rounds")
        for what, value in (
            ("the timeout in seconds", self.timeout_s),
            ("the model resolution timeout in seconds", self.resolve_timeout_s),
        ):
            if value is not None:
                TIMEOUT_S.check(value, what)
        if self.input_shape is not None:
            object.__setattr__(self, "input_shape", check_input_shape(self.input_shape))
        if not isinstance(self.budget, Budget):
            raise BadInput(f"the budget must be a Budget, got {self.budget!r}")


def plan(req: RunRequest) -> list[RunSpec]:
    """Validated specs, ordered model x mode x engine."""
    engines = resolve_engines(req.engines)
    modes = resolve_modes(req.modes)
    if req.loadgen is not None:
        modes = loadgen_modes(req, modes)
    elif "loadgen" in modes:
        raise BadInput("mode loadgen is chosen with a LoadGen scenario (SingleStream, ...)")
    if req.isa is not None:
        get_cap(req.isa)

    def target(engine: str) -> Target:
        return Target(
            engine=engine,
            device=req.device,
            threads=req.threads,
            cores=req.cores,
            isa=req.isa,
            isa_strict=req.isa_strict,
            precision=req.precision,
            streams=req.streams,
            options=tuple(sorted(req.options)),
            node=req.node,
        )

    target(engines[0])  # the configuration's values are checked before any model is resolved
    check_options(engines, req.options)
    for probe in req.probes:
        check_probe_ref(probe)  # unknown -> BadInput, before anything runs
    # Last: a reference to outside code is resolved in a worker (seconds).
    infos = resolve_models(req.models, req.input_shape, timeout_s=req.resolve_timeout_s)
    specs = []
    for info in infos:
        for mode in modes:
            for engine in engines:
                batch = req.max_batch if mode == "throughput" else req.batch
                specs.append(
                    RunSpec(
                        ModelRef(info.name),
                        info.input_shape,
                        batch,
                        target(engine),
                        mode,
                        req.budget,
                        req.probes,
                        req.loadgen,
                    )
                )
    return specs
