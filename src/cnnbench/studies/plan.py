"""A study's points: its named targets expanded on this machine, crossed with models and metrics.

Every part goes through :func:`cnnbench.execute.plan.plan` (engines, ISA caps, options and model
references checked there, before anything runs). What this machine cannot run at all (an engine
that is not installed, CPUs it does not have, CPU flags a target needs) is not planned, and a
note says why; what it may run but an engine refuses is measured and recorded (``unsupported``).
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from cnnbench.engines import get_engine, installed_engines
from cnnbench.errors import BadInput
from cnnbench.execute.plan import RunRequest, plan
from cnnbench.spec import Budget, RunSpec
from cnnbench.studies.metrics import MODE_OF, probes_for, unavailable
from cnnbench.studies.schema import Study, TargetDef, parse_study, read_yaml, target_library


@dataclass(frozen=True)
class StudyPoint:
    """One configuration of a study (one spec) and the metrics it serves."""

    spec: RunSpec
    metrics: tuple[str, ...]

    @property
    def target(self) -> str:
        return self.spec.target.name or self.spec.target.engine


@dataclass(frozen=True)
class StudyPlan:
    study: Study
    points: tuple[StudyPoint, ...]
    notes: tuple[str, ...]  # what is not planned on this machine, and why
    unavailable: tuple[tuple[str, str], ...]  # (metric, reason)

    @property
    def specs(self) -> list[RunSpec]:
        return [p.spec for p in self.points]


# -- the shipped studies ---------------------------------------------------------------------
def _data() -> Path:
    return Path(str(resources.files("cnnbench.studies") / "data"))


def shipped_targets_file() -> Path:
    return _data() / "targets.yaml"


def shipped_studies() -> dict[str, Path]:
    """Name -> file of the studies that ship with cnnbench."""
    return {p.stem: p for p in sorted(_data().glob("*.yaml")) if p.name != "targets.yaml"}


def study_file(ref: str) -> Path:
    """A shipped study's file by name, or a user's file by path."""
    shipped = shipped_studies()
    if ref in shipped:
        return shipped[ref]
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or os.sep in ref:
        if not path.is_file():
            raise BadInput(f"study file {ref!r} does not exist")
        return path
    close = difflib.get_close_matches(ref, list(shipped), n=2, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise BadInput(
        f"unknown study {ref!r}{hint} (shipped: {', '.join(shipped)}; or a path to a .yaml file)"
    )


def load_study(ref: str, *, quick: bool = False, targets: Path | None = None) -> Study:
    """A study, validated whole (both variants); ``targets``: a user's targets.yaml."""
    path = study_file(ref)
    files = [shipped_targets_file()] + ([targets] if targets is not None else [])
    library = target_library(files)
    doc = read_yaml(path)
    parse_study(doc, str(path), quick=not quick, library=library)  # the other variant too
    return parse_study(doc, str(path), quick=quick, library=library)


# -- expansion on this machine ---------------------------------------------------------------
def _cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _machine_flags() -> set[str]:
    from cnnbench.system.fingerprint import parse_cpuinfo

    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return set()
    return set(parse_cpuinfo(text)["isa"])


def _cores(t: TargetDef, notes: list[str]) -> tuple[int, ...] | bool | None:
    """The target's CPUs here (None: no affinity); False when this machine lacks them."""
    cpus = _cpus()
    if t.cores is None:
        return None
    if t.cores == "all":
        return tuple(cpus)
    if isinstance(t.cores, int):
        if t.cores > len(cpus):
            notes.append(f"target {t.name}: needs {t.cores} CPUs, this machine has {len(cpus)}")
            return False
        return tuple(cpus[: t.cores])
    assert isinstance(t.cores, tuple)
    missing = [c for c in t.cores if c not in cpus]
    if missing:
        notes.append(f"target {t.name}: CPUs {missing} are not available here (have {cpus})")
        return False
    return t.cores


@dataclass(frozen=True)
class _Variant:
    engines: tuple[str, ...]
    precision: str
    cores: tuple[int, ...] | None
    threads: int | None
    streams: int


def _variants(t: TargetDef, study: Study, notes: list[str]) -> list[_Variant]:
    missing = [flag for flag in t.needs if flag not in _machine_flags()]
    if missing:
        notes.append(f"target {t.name}: this CPU lacks {', '.join(missing)}")
        return []
    cores = _cores(t, notes)
    if cores is False:
        return []
    assert cores is not True
    engines = t.engines or study.settings.engines
    for engine in engines:
        get_engine(engine, require_installed=False)  # unknown: BadInput with close matches
    here = tuple(e for e in engines if e in installed_engines())
    for engine in engines:
        if engine not in here:
            notes.append(f"target {t.name}: engine {engine} is not installed")
    if not here:
        return []
    budget = len(cores) if cores is not None else len(_cpus())
    out = []
    for precision in t.precisions or study.settings.precisions:
        for streams in t.streams:
            if t.threads_per_stream is not None:
                counts: list[int | None] = [streams * n for n in t.threads_per_stream]
            else:
                counts = [budget if x == "cores" else x for x in t.threads]  # type: ignore[misc]
            for threads in counts:
                if t.max_threads is not None and (threads or budget) > t.max_threads:
                    continue
                out.append(_Variant(here, precision, cores, threads, streams))
    return out


def _requests(study: Study, t: TargetDef, v: _Variant) -> list[tuple[str, RunRequest]]:
    s = study.settings
    probes = probes_for(study.metrics)
    common = dict(
        models=study.all_models,
        engines=v.engines,
        threads=v.threads,
        cores=v.cores,
        isa=t.isa,
        precision=v.precision,
        device=t.device,
        streams=v.streams,
        options=t.options,
        node=t.node,
        input_shape=s.input_shape,
        rounds=s.rounds,
        timeout_s=s.timeout_s,
        probes=probes,  # energy and counters over every timed window of the study
    )
    budget = Budget(seconds=s.budget_s, min_samples=s.min_samples)
    out: list[tuple[str, RunRequest]] = []
    for metric in study.metrics:
        if metric == "latency":
            for batch in s.batches:
                out.append(
                    (metric, RunRequest(**common, batch=batch, budget=budget))  # type: ignore[arg-type]
                )
        elif metric == "throughput":
            req = RunRequest(**common, modes=("throughput",), max_batch=s.max_batch, budget=budget)  # type: ignore[arg-type]
            out.append((metric, req))
        elif metric == "layers":
            req = RunRequest(**common, modes=(MODE_OF[metric],), batch=s.batches[0], budget=budget)  # type: ignore[arg-type]
            out.append((metric, req))
        elif metric == "workload":
            calls = math.ceil(s.workload_images / s.workload_batch)
            whole = Budget(
                seconds=0.001,  # the count decides: exactly `calls` timed requests
                min_samples=calls,
                max_samples=calls,
                warmup_max_s=max(0.5, s.budget_s / 4),
            )
            out.append((metric, RunRequest(**common, batch=s.workload_batch, budget=whole)))  # type: ignore[arg-type]
    return out


def plan_study(study: Study) -> StudyPlan:
    """Every configuration of the study on this machine, validated; duplicates merged."""
    notes: list[str] = []
    by_hash: dict[str, tuple[RunSpec, list[str]]] = {}
    for t in study.targets:
        for v in _variants(t, study, notes):
            for metric, req in _requests(study, t, v):
                for spec in plan(req):
                    spec = replace(spec, target=replace(spec.target, name=t.name))
                    entry = by_hash.setdefault(spec.spec_hash(), (spec, []))
                    if metric not in entry[1]:
                        entry[1].append(metric)
    points = tuple(StudyPoint(spec, tuple(metrics)) for spec, metrics in by_hash.values())
    if not points and not notes:
        raise BadInput(f"study {study.name}: no configuration to measure")
    return StudyPlan(study, points, tuple(dict.fromkeys(notes)), unavailable(study.metrics))
