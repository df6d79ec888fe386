"""From command-line words to run specs, and the execution of a list of specs into the store.

Everything is validated before the first measurement, so bad input costs nothing and writes
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnnbench.engines import get_engine, installed_engines
from cnnbench.errors import BadInput
from cnnbench.execute.sweep import (
    Environment,
    measure_latency_group,
    measure_throughput_group,
)
from cnnbench.graph.record_cost import graph_cost, merge_cost
from cnnbench.models import get_model_info
from cnnbench.results.record import ResultRecord
from cnnbench.results.roofline import roofline
from cnnbench.spec import MODES, Budget, ModelRef, RunSpec, Target
from cnnbench.store.sqlite import Store
from cnnbench.system.isa import get_cap


def parse_cores(text: str) -> tuple[int, ...]:
    """``0,2,4-7`` -> (0, 2, 4, 5, 6, 7); CPUs must exist and be allowed to this process."""
    cores: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                cores.update(range(lo, hi + 1))
            else:
                cores.add(int(part))
        except ValueError:
            raise BadInput(f"--cores: {part!r} is not a CPU number or range (e.g. 0,2-3)") from None
    if not cores:
        raise BadInput("--cores names no CPU")
    allowed = os.sched_getaffinity(0)
    missing = sorted(c for c in cores if c not in allowed)
    if missing:
        raise BadInput(
            f"--cores: CPU {', '.join(map(str, missing))} does not exist or is not available "
            f"(available: {_ranges(sorted(allowed))})"
        )
    return tuple(sorted(cores))


def _ranges(values: list[int]) -> str:
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ",".join(out)


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(x) for x in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise BadInput(f"--input-shape {text!r}: expected dimensions like 3x224x224") from None
    if not dims or any(d < 1 for d in dims):
        raise BadInput(f"--input-shape {text!r}: dimensions must be positive")
    return dims


def parse_options(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--option {item!r}: expected KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return tuple(sorted(out))


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
        raise BadInput("name at least one engine with -e/--engine")
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
    """What ``cnnbench run`` was asked, in words already checked."""

    models: tuple[str, ...]
    engines: tuple[str, ...]
    modes: tuple[str, ...] = ("latency",)
    batch: int = 1
    max_batch: int = 256
    threads: int | None = None
    cores: str | None = None
    isa: str | None = None
    precision: str = "fp32"
    device: str = "cpu"
    streams: int = 1
    options: tuple[str, ...] = ()
    input_shape: str | None = None
    budget: Budget = field(default_factory=Budget)


def plan(req: RunRequest) -> list[RunSpec]:
    """Validated specs, ordered model x mode x engine."""
    shape = parse_shape(req.input_shape) if req.input_shape else None
    infos = [get_model_info(m, shape) for m in req.models]
    engines = resolve_engines(req.engines)
    modes = resolve_modes(req.modes)
    if req.isa is not None:
        get_cap(req.isa)
    cores = parse_cores(req.cores) if req.cores else None
    options = parse_options(req.options)
    specs = []
    for info in infos:
        for mode in modes:
            for engine in engines:
                target = Target(
                    engine=engine,
                    device=req.device,
                    threads=req.threads,
                    cores=cores,
                    isa=req.isa,
                    precision=req.precision,
                    streams=req.streams,
                    options=options,
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
                    )
                )
    return specs


def check_writable(path: Path) -> None:
    """Fail before measuring when an output file could not be written afterwards."""
    if str(path) == "-":
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BadInput(f"cannot write {path}")


def with_cost_and_roofline(rec: ResultRecord, peaks: list[dict[str, Any]]) -> ResultRecord:
    """Attach the cost model's per-image figures and the roofline to a measured record."""
    spec = rec.spec
    cost = merge_cost(graph_cost(spec.model.name, spec.input_shape), rec.cost)
    if rec.status != "ok":
        return replace(rec, cost=cost)
    flops = cost.get("flops")
    weight_bytes = cost.get("weight_bytes")
    activation_bytes = cost.get("activation_bytes")
    batch = rec.throughput.get("best_batch", spec.batch) if rec.throughput else spec.batch
    moved = None
    if weight_bytes is not None and activation_bytes is not None:
        moved = weight_bytes / batch + activation_bytes
    threads = rec.effective.get("threads") or spec.target.threads
    line = roofline(
        flops_per_image=flops,
        bytes_per_image=moved,
        images_per_s=rec.throughput_ips,
        precision=str(rec.effective.get("precision", spec.target.precision)),
        threads=threads if isinstance(threads, int) else None,
        peaks=peaks,
    )
    return replace(rec, cost=cost, roofline=line)


def group_for_comparison(specs: Sequence[RunSpec]) -> list[list[RunSpec]]:
    """Specs that differ only in their target, in order of first appearance."""
    groups: dict[tuple[object, ...], list[RunSpec]] = {}
    for spec in specs:
        key = (spec.model, spec.input_shape, spec.batch, spec.mode)
        groups.setdefault(key, []).append(spec)
    return list(groups.values())


def execute(
    specs: Sequence[RunSpec],
    store: Store,
    env: Environment,
    *,
    rounds: int | None = None,
    timeout_s: float | None = None,
    on_done: Callable[[ResultRecord], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ResultRecord]:
    """Measure every spec, each comparison group interleaved, storing records as they come.

    ``rounds`` defaults to 3 when a group compares several targets and 1 otherwise.
    """
    records = []
    for group in group_for_comparison(specs):
        n_rounds = rounds if rounds is not None else (3 if len(group) > 1 else 1)
        if group[0].mode == "throughput":
            done = measure_throughput_group(group, env, timeout_s=timeout_s, progress=progress)
        else:
            done = measure_latency_group(
                group, env, rounds=n_rounds, timeout_s=timeout_s, progress=progress
            )
        peaks = store.peaks(str(env.machine["id"]))
        for rec in done:
            rec = with_cost_and_roofline(rec, peaks)
            store.save(rec)
            records.append(rec)
            if on_done:
                on_done(rec)
    return records
