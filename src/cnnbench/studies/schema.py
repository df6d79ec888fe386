"""Study files: YAML read and validated whole, before anything runs.

A study is models x targets x settings x metrics, with a ``quick:`` block of overrides::

    study: parallel-modes            # its name (letters, digits, '-', '_', '.')
    seed: "002"                      # the seed paper it answers (optional)
    title: ...                       # one line
    models: [resnet101_cifar]        # model references, as ``cnnbench run`` takes them
    patterns:                        # optional: seed 003's generated networks, crossed
      names: [standard, grouped]
      depths: [10, 20]
      widths: [32, 64]
      input: 224                     # input resolution (optional)
    targets:                         # named targets (or a list of names from targets files)
      big-avx512: {cores: all}
      small-avx2: {cores: [0], isa: avx2, threads: 1}
    settings: {engines: [torch, openvino], batches: [1], budget_s: 1.0}
    metrics: [latency, throughput, layers, workload, energy, counters]
    paper: {observation-1: "..."}    # the paper's figures, quoted in reports (text only)
    quick: {models: [...], settings: {budget_s: 0.2}}

A defect is one :class:`~cnnbench.errors.BadInput` naming the file, the key and the problem.
Both variants (full and quick) are checked on every load.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.spec import (
    BATCH,
    BUDGET_S,
    CPU_NUMBER,
    INPUT_DIM,
    MIN_SAMPLES,
    PRECISIONS,
    ROUNDS,
    STREAMS,
    THREADS,
    TIMEOUT_S,
    IntRange,
    check_node_selection,
)
from cnnbench.studies._yaml import At, kind, read_yaml, unique
from cnnbench.studies.metrics import METRICS

WORKLOAD = IntRange(1, 10_000_000)
GROUP_SIZE = IntRange(1, 1000)

TOP_KEYS = ("study", "seed", "title", "models", "patterns", "targets", "settings", "metrics")
TOP_KEYS_ALL = (*TOP_KEYS, "paper", "quick")
QUICK_KEYS = ("models", "patterns", "targets", "settings", "metrics")
TARGET_KEYS = (
    "engine",
    "device",
    "cores",
    "threads",
    "threads_per_stream",
    "streams",
    "isa",
    "precision",
    "options",
    "needs",
    "max_threads",
    "node",
)
SETTING_KEYS = (
    "engines",
    "precisions",
    "batches",
    "max_batch",
    "input_shape",
    "budget_s",
    "min_samples",
    "rounds",
    "timeout_s",
    "workload_images",
    "workload_batch",
    "group_size",
)
PATTERN_KEYS = ("names", "depths", "widths", "input")


@dataclass(frozen=True)
class TargetDef:
    """A named target: a processor configuration; list-valued fields are crossed."""

    name: str
    engines: tuple[str, ...] | None = None  # None: the study's engines
    device: str = "cpu"
    cores: str | int | tuple[int, ...] | None = None  # "all", a count, CPU numbers, None
    threads: tuple[int | str | None, ...] = (None,)  # an int, "cores" or None (engine's)
    threads_per_stream: tuple[int, ...] | None = None  # instead of threads: x streams
    streams: tuple[int, ...] = (1,)
    isa: str | None = None
    precisions: tuple[str, ...] | None = None  # None: the study's precisions
    options: tuple[tuple[str, str], ...] = ()
    needs: tuple[str, ...] = ()  # CPU flags (as /proc/cpuinfo names them) the target needs
    max_threads: int | None = None  # variants with more threads in all are not planned
    node: tuple[tuple[str, str], ...] = ()  # where on a fleet (Target.node; docs/fleet.md)


@dataclass(frozen=True)
class Settings:
    engines: tuple[str, ...] = ("torch",)
    precisions: tuple[str, ...] = ("fp32",)
    batches: tuple[int, ...] = (1,)
    max_batch: int = 64
    input_shape: tuple[int, ...] | None = None
    budget_s: float = 1.0
    min_samples: int = 10
    rounds: int | None = None
    timeout_s: float | None = None
    workload_images: int = 1000
    workload_batch: int = 1
    group_size: int = 6  # targets measured interleaved per stored chunk (resume granularity)


@dataclass(frozen=True)
class Study:
    name: str
    source: str  # the file it was read from
    models: tuple[str, ...]
    targets: tuple[TargetDef, ...]
    settings: Settings
    metrics: tuple[str, ...]
    seed: str | None = None
    title: str = ""
    paper: tuple[tuple[str, str], ...] = ()
    quick: bool = False
    pattern_models: tuple[str, ...] = field(default=())

    @property
    def all_models(self) -> tuple[str, ...]:
        return (*self.models, *self.pattern_models)


# -- reading -------------------------------------------------------------------------------
# -- the parts -----------------------------------------------------------------------------
def _target(name: str, at: At) -> TargetDef:
    if at.value is None:
        return TargetDef(name)
    f = at.mapping(TARGET_KEYS)
    t = TargetDef(name)
    if "engine" in f:
        t = replace(t, engines=unique([x.name() for x in f["engine"].items()], f["engine"]))
    if "device" in f:
        t = replace(t, device=f["device"].text())
    if "cores" in f:
        c = f["cores"]
        if c.value == "all":
            t = replace(t, cores="all")
        elif isinstance(c.value, list):
            cpus = [x.integer(CPU_NUMBER) for x in c.items()]
            t = replace(t, cores=unique(cpus, c))
        elif isinstance(c.value, int) and not isinstance(c.value, bool):
            t = replace(t, cores=c.integer(THREADS))
        else:
            raise c.fail(
                f"must be 'all', a CPU count or a list of CPU numbers, got {kind(c.value)}"
            )
    if "threads" in f and "threads_per_stream" in f:
        raise f["threads"].fail("give threads or threads_per_stream, not both")
    if "threads" in f:
        values: list[int | str | None] = []
        for x in f["threads"].items():
            values.append("cores" if x.value == "cores" else x.integer(THREADS))
        t = replace(t, threads=unique(values, f["threads"]))
    if "threads_per_stream" in f:
        tps = [x.integer(THREADS) for x in f["threads_per_stream"].items()]
        t = replace(t, threads_per_stream=unique(tps, f["threads_per_stream"]))
    if "streams" in f:
        t = replace(
            t, streams=unique([x.integer(STREAMS) for x in f["streams"].items()], f["streams"])
        )
    if "isa" in f:
        from cnnbench.system.isa import ISA_CAPS

        t = replace(t, isa=f["isa"].choice(tuple(ISA_CAPS)))
    if "precision" in f:
        precisions = [x.choice(PRECISIONS) for x in f["precision"].items()]
        t = replace(t, precisions=unique(precisions, f["precision"]))
    if "options" in f:
        o = f["options"]
        if not isinstance(o.value, dict):
            raise o.fail(f"must be a mapping of engine options, got {kind(o.value)}")
        pairs = []
        for key, value in o.value.items():
            if not isinstance(key, str) or isinstance(value, dict | list) or value is None:
                raise o.fail(f"option {key!r}: a name and a single value are needed")
            pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
        t = replace(t, options=tuple(sorted(pairs)))
    if "needs" in f:
        t = replace(t, needs=tuple(x.name() for x in f["needs"].items()))
    if "max_threads" in f:
        t = replace(t, max_threads=f["max_threads"].integer(THREADS))
    if "node" in f:
        n = f["node"]
        if not isinstance(n.value, dict):
            raise n.fail(f"must be a mapping of node selections, got {kind(n.value)}")
        try:
            selection = {str(k): v if isinstance(v, bool) else str(v) for k, v in n.value.items()}
            t = replace(t, node=check_node_selection(selection))
        except BadInput as exc:
            raise n.fail(str(exc)) from None
    return t


def _targets(at: At, library: dict[str, tuple[str, At]]) -> tuple[TargetDef, ...]:
    """A mapping name -> definition (null: from a targets file) or a list of names."""
    entries: list[tuple[str, At | None]]
    if isinstance(at.value, list):
        names = [x.name() for x in at.items()]
        entries = [(n, None) for n in unique(names, at)]
    elif isinstance(at.value, dict):
        if not at.value:
            raise at.fail("must name at least one target")
        entries = []
        for key in at.value:
            entry = at.child(key)
            At(at.source, entry.path, key).name()
            entries.append((key, entry))
    else:
        raise at.fail(
            f"must be a mapping of named targets or a list of names, got {kind(at.value)}"
        )
    out = []
    for name, child in entries:
        if child is None or child.value is None:
            if name not in library:
                known = ", ".join(sorted(library)) or "none"
                where = child if child is not None else at
                raise where.fail(
                    f"target {name!r} is not defined here nor in a targets file (known: {known})"
                )
            _source, lib_at = library[name]
            out.append(_target(name, lib_at))
        else:
            out.append(_target(name, child))
    return tuple(out)


def _settings(at: At, base: Settings) -> Settings:
    f = at.mapping(SETTING_KEYS)
    s = base
    if "engines" in f:
        s = replace(s, engines=unique([x.name() for x in f["engines"].items()], f["engines"]))
    if "precisions" in f:
        precisions = [x.choice(PRECISIONS) for x in f["precisions"].items()]
        s = replace(s, precisions=unique(precisions, f["precisions"]))
    if "batches" in f:
        s = replace(
            s, batches=unique([x.integer(BATCH) for x in f["batches"].items()], f["batches"])
        )
    if "max_batch" in f:
        s = replace(s, max_batch=f["max_batch"].integer(BATCH))
    if "input_shape" in f:
        shape = f["input_shape"]
        if not isinstance(shape.value, list):
            raise shape.fail(
                f"must be a list of dimensions, e.g. [3, 224, 224], got {kind(shape.value)}"
            )
        s = replace(s, input_shape=tuple(x.integer(INPUT_DIM) for x in shape.items()))
    if "budget_s" in f:
        s = replace(s, budget_s=f["budget_s"].number(BUDGET_S))
    if "min_samples" in f:
        s = replace(s, min_samples=f["min_samples"].integer(MIN_SAMPLES))
    if "rounds" in f:
        s = replace(s, rounds=f["rounds"].integer(ROUNDS))
    if "timeout_s" in f:
        s = replace(s, timeout_s=f["timeout_s"].number(TIMEOUT_S))
    if "workload_images" in f:
        s = replace(s, workload_images=f["workload_images"].integer(WORKLOAD))
    if "workload_batch" in f:
        s = replace(s, workload_batch=f["workload_batch"].integer(BATCH))
    if "group_size" in f:
        s = replace(s, group_size=f["group_size"].integer(GROUP_SIZE))
    return s


def _patterns(at: At) -> tuple[str, ...]:
    from cnnbench.models.patterns import PATTERNS

    f = at.mapping(PATTERN_KEYS)
    for key in ("names", "depths", "widths"):
        if key not in f:
            raise at.fail(f"needs {key!r}")
    names = [x.choice(tuple(PATTERNS)) for x in f["names"].items()]
    depths = [x.integer(IntRange(1, 1000)) for x in f["depths"].items()]
    widths = [x.integer(IntRange(1, 8192)) for x in f["widths"].items()]
    size = f["input"].integer(IntRange(8, 4096)) if "input" in f else None
    out = []
    for name in unique(names, f["names"]):
        for depth in unique(depths, f["depths"]):
            for width in unique(widths, f["widths"]):
                ref = f"pattern/{name}?depth={depth}&width={width}"
                out.append(ref + (f"&input={size}" if size else ""))
    return tuple(out)


def _models(at: At) -> tuple[str, ...]:
    return unique([x.text() for x in at.items()], at)


def _metrics(at: At) -> tuple[str, ...]:
    return unique([x.choice(METRICS) for x in at.items()], at)


def parse_study(
    doc: Any, source: str, *, quick: bool = False, library: dict[str, tuple[str, At]] | None = None
) -> Study:
    """The study of a YAML document (the quick variant when ``quick``); both are checked."""
    root = At(source, "", doc)
    f = root.mapping(TOP_KEYS_ALL)
    library = library or {}
    if "study" not in f:
        raise root.fail("needs 'study' (its name)")
    if "targets" not in f:
        raise root.fail("needs 'targets' (named targets, or a list of names)")
    if "models" not in f and "patterns" not in f:
        raise root.fail("needs 'models' or 'patterns'")
    if "metrics" not in f:
        raise root.fail("needs 'metrics'")
    paper: list[tuple[str, str]] = []
    if "paper" in f:
        p = f["paper"]
        if not isinstance(p.value, dict):
            raise p.fail(f"must be a mapping of figures to text, got {kind(p.value)}")
        for key in p.value:
            paper.append(
                (
                    str(key),
                    p.child(key).text()
                    if not isinstance(p.value[key], int | float)
                    else str(p.value[key]),
                )
            )
    full = _variant(f, library)
    base = Study(
        name=f["study"].name(),
        source=source,
        seed=str(f["seed"].value) if "seed" in f else None,
        title=f["title"].text() if "title" in f else "",
        paper=tuple(paper),
        **full,
    )
    q = f.get("quick")
    quick_parts = dict(full)
    if q is not None:
        qf = q.mapping(QUICK_KEYS)
        if "settings" in qf:
            quick_parts["settings"] = _settings(qf["settings"], full["settings"])
        if "models" in qf:
            quick_parts["models"] = _models(qf["models"])
        if "patterns" in qf:
            quick_parts["pattern_models"] = (
                _patterns(qf["patterns"]) if qf["patterns"].value else ()
            )
        if "targets" in qf:  # a name may be one of the study's own targets
            own = dict(library)
            if isinstance(f["targets"].value, dict):
                for key, value in f["targets"].value.items():
                    if value is not None:
                        own[str(key)] = (source, f["targets"].child(key))
            quick_parts["targets"] = _targets(qf["targets"], own)
        if "metrics" in qf:
            quick_parts["metrics"] = _metrics(qf["metrics"])
    if not quick_parts["models"] and not quick_parts["pattern_models"]:
        raise root.fail("the quick variant names no model")
    return replace(base, **quick_parts, quick=True) if quick else base


def _variant(f: dict[str, At], library: dict[str, tuple[str, At]]) -> dict[str, Any]:
    return {
        "models": _models(f["models"]) if "models" in f else (),
        "pattern_models": _patterns(f["patterns"]) if "patterns" in f else (),
        "targets": _targets(f["targets"], library),
        "settings": _settings(f["settings"], Settings()) if "settings" in f else Settings(),
        "metrics": _metrics(f["metrics"]),
    }


def target_library(paths: list[Path]) -> dict[str, tuple[str, At]]:
    """Named targets from targets files (later files override earlier ones); each definition is
    checked when a study uses it, and every one is checked here too."""
    out: dict[str, tuple[str, At]] = {}
    for path in paths:
        doc = read_yaml(path, "targets")
        root = At(str(path), "", doc)
        if not isinstance(doc, dict):
            raise root.fail(f"must be a mapping of named targets, got {kind(doc)}")
        for key in doc:
            child = root.child(key)
            At(str(path), child.path, key).name()
            _target(str(key), child)  # checked now, whether used or not
            out[str(key)] = (str(path), child)
    return out
