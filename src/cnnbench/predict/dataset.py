"""Training samples from the store: one per network, with its measured kernels and counters.

A :class:`Sample` joins, for one network on one engine configuration (this machine, fp32, batch
1, one thread setting):

* the newest ok run of mode ``profile`` (with its repeats: medians over them): the target
  (its unprofiled end-to-end median, ``latency_ms``) and its executed layers, each attributed
  to the predicted kernel (:func:`cnnbench.predict.features.kernels`) that holds its first
  source node of an anchor type (else its first source node); a layer with no source in the
  graph (a reorder the engine inserted) joins the kernel before it, and their sum is
  ``unattributed_ms`` too;
* the newest ok run whose counters were measured (perf, or cachegrind labelled simulated):
  per-inference ``instructions`` and memory accesses, SyNERGY's two inputs.

A sample's :attr:`Sample.target` (a :class:`Quantity`: name and unit) says which of its
measured figures a predictor fits: ``latency`` (ms, the fields above) or ``energy`` (mJ per
inference from a meter: ``energy_mj``, ``kernel_mj``; built in :mod:`cnnbench.predict.energy`).
:attr:`Sample.value`, :attr:`Sample.kernel_values` and :attr:`Sample.unattributed` read the
target's figures, in its unit.

Which records count: all of this machine's for the engine, or only a study's
(:data:`StudySpecs`: a function from a study's name to its planned specs, matched by run key,
which is how a study finds its own results).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnnbench.errors import BadInput
from cnnbench.graph.cost import NetworkCost
from cnnbench.measure.layers import cost_index
from cnnbench.predict.features import (
    TAILS,
    NetworkFeatures,
    largest_cache_bytes,
    node_to_kernel,
    simd_lanes,
)
from cnnbench.predict.network_cost import default_cost
from cnnbench.predict.saved import fit_options
from cnnbench.results.record import ResultRecord, run_key
from cnnbench.results.sections import LayerRecord

if TYPE_CHECKING:
    from cnnbench.spec import RunSpec
    from cnnbench.store.sqlite import Store

# SyNERGY's inputs from counter names: SIMD instructions (here all instructions: cachegrind
# does not tell SIMD apart) and main-memory accesses: last-level misses (perf: cache-misses),
# else first-level data misses, when a network fits in the simulated last level and its
# misses stay below the differential's noise (the source then says which was used).
INSTRUCTIONS = ("instructions",)
MEMORY = (
    ("ll_read_misses", "ll_write_misses"),
    ("cache-misses",),
    ("LLC-load-misses",),
    ("d1_read_misses", "d1_write_misses"),
)

FUSED_PREFIX = "fused "
STATISTICS = ("median", "p10", "min")  # the end-to-end figure a sample's target is
StudySpecs = Callable[[str], Sequence["RunSpec"]]
CostOf = Callable[[ResultRecord], NetworkCost]


@dataclass(frozen=True)
class Counts:
    """Per-inference counter figures of one network, and where they came from."""

    instructions: float
    memory: float
    source: str  # "cachegrind (simulated)", "perf", ...


@dataclass(frozen=True)
class Quantity:
    """What a fit predicts: its name and unit (``key``, the suffix of its JSON fields:
    ``predicted_ms``, ``predicted_mj``), and for energy which figure (``basis``: ``dynamic``
    or ``total``) and why."""

    name: str
    unit: str
    basis: str = ""
    note: str = ""

    @property
    def energy(self) -> bool:
        return self.name == "energy"

    @property
    def key(self) -> str:
        return self.unit.lower()


LATENCY = Quantity("latency", "ms")
ENERGY = Quantity("energy", "mJ")  # per inference
TARGETS = {q.name: q for q in (LATENCY, ENERGY)}


def quantity(name: str) -> Quantity:
    try:
        return TARGETS[name]
    except KeyError:
        raise BadInput(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None


@dataclass(frozen=True)
class Sample:
    """One network's features and measured figures on one engine configuration; ``target``
    says which figure the predictors fit (see :attr:`value`)."""

    model: str
    family: str
    latency_ms: float
    features: NetworkFeatures
    kernel_ms: tuple[float, ...] = ()  # measured, per kernel of ``features`` (profile)
    unattributed_ms: float = 0.0  # of kernel_ms: layers no graph node holds (see attribute)
    counts: Counts | None = None
    run_ids: tuple[str, ...] = field(default=())
    llc_bytes: int = 0  # the measuring machine's last-level cache (0: not known)
    lanes: int = 0  # its fp32 SIMD lanes (0: not known)
    energy_mj: float | None = None  # per inference, from a meter (rapl, nvml)
    kernel_mj: tuple[float, ...] = ()  # per kernel, from isolated replays with a meter
    unattributed_mj: float = 0.0
    target: Quantity = LATENCY
    profiles: int = 1  # repeated profiles joined (medians; see samples_from)
    repeat_ms: tuple[float, ...] = ()  # each joined profile's end-to-end figure, newest first
    contended: int = 0  # repeats left out: other work contended their timed window

    @property
    def value(self) -> float:
        """The measured target, in ``target.unit``."""
        if self.target.energy:
            if self.energy_mj is None:
                raise ValueError(f"{self.model}: an energy sample without measured energy")
            return self.energy_mj
        return self.latency_ms

    @property
    def kernel_values(self) -> tuple[float, ...]:
        """The target per kernel of ``features`` (empty: not measured per kernel)."""
        return self.kernel_mj if self.target.energy else self.kernel_ms

    @property
    def unattributed(self) -> float:
        return self.unattributed_mj if self.target.energy else self.unattributed_ms

    @property
    def profiled(self) -> bool:
        """Whether the target was measured per kernel (profile; for energy, replays)."""
        return bool(self.kernel_values)

    @property
    def probe(self) -> bool:
        """A one-layer probe (``layer/...``): it trains kernel models only, and is neither a
        network to fit the network terms on nor one to judge a predictor on."""
        return self.family == PROBE_FAMILY


PROBE_FAMILY = "layer"


def family_of(model: str) -> str:
    """The registry family; a design pattern's is ``pattern/NAME`` (each pattern its own family,
    so holding one out leaves its kind of convolution unseen); ``layer`` for a one-layer probe;
    ``user`` for anything else."""
    if model.lower().startswith(PROBE_FAMILY + "/"):
        return PROBE_FAMILY
    if model.lower().startswith("pattern/"):
        return "pattern/" + model.split("/", 1)[1].split("?", 1)[0].lower()
    try:
        from cnnbench.models import get_model_info

        return get_model_info(model).family
    except BadInput:
        return "user"


def layer_ms(layer: LayerRecord) -> float:
    return layer.time_ms or 0.0


def attribute(
    layers: Sequence[LayerRecord],
    cost: NetworkCost,
    features: NetworkFeatures,
    value: Callable[[LayerRecord], float] = layer_ms,
) -> tuple[tuple[float, ...], float]:
    """A measured figure of the layers (``value``: ms by default) per kernel, and the part of it
    from layers no graph node holds (layout reorders the engine inserted, ONNX Runtime's
    ``ReorderOutput``): each of those joins the kernel executed just before it (the first
    kernel, for one before any), whose layout caused it, so it is already in the per-kernel
    figures. (Left out of every kernel, it was time no kernel model could learn: a 24-channel
    network's reorders were a fifth of its latency; joining them took onnxruntime's held-out
    MAPE from 6.8 % to 6.5 % with :attr:`KernelFeatures.misaligned_bytes`.)"""
    owner = node_to_kernel(features.kernels)
    index = cost_index(cost)
    per_kernel = [0.0] * len(features.kernels)
    loose = 0.0
    last = 0
    for layer in layers:
        # ONNX Runtime names a node it fused by its first source ("fused /fc/Gemm")
        sources = [s if s in index else s.removeprefix(FUSED_PREFIX) for s in layer.source_layers]
        nodes = [n.name for s in sources for n in index.get(s, ())]
        nodes = [n for n in nodes if n in owner]
        if nodes:
            kinds = {n.name: n.layer_type for s in sources for n in index.get(s, ())}
            anchors = [n for n in nodes if kinds.get(n) not in TAILS]
            last = owner[(anchors or nodes)[0]]
        else:
            loose += value(layer)
        if per_kernel:
            per_kernel[last] += value(layer)
    return tuple(per_kernel), loose


def target_ms(rec: ResultRecord, statistic: str = "median") -> float:
    """The record's end-to-end latency as the target: its median (the project's figure), or
    on a machine others load, a low quantile of its samples (``p10``; ``min``), which
    contention inflates least. ``p10`` without stored samples is the median."""
    assert rec.latency_ms is not None
    if statistic == "min":
        return rec.latency_ms.min
    if statistic == "p10" and rec.samples_ms:
        import numpy as np

        return float(np.quantile(np.asarray(rec.samples_ms), 0.10))
    return rec.latency_ms.median


def counts_of(rec: ResultRecord) -> Counts | None:
    """SyNERGY's two counts per inference, when the record measured them."""
    per = rec.counters.per_inference
    if rec.counters.source == "none" or not per:
        return None
    instructions = next((per[k] for k in INSTRUCTIONS if k in per), None)
    keys = next((keys for keys in MEMORY if all(k in per for k in keys)), None)
    if instructions is None or keys is None:
        return None
    memory = sum(per[k] for k in keys)
    return Counts(float(instructions), float(memory), f"{rec.counters.source}: {'+'.join(keys)}")


def eligible(
    rec: ResultRecord,
    engine: str,
    threads: int | None,
    machine_id: str | None,
    options: Sequence[tuple[str, str]] = (),
) -> bool:
    """An ok fp32 batch-1 CPU run of ``engine`` at ``threads`` on ``machine_id`` whose engine
    options are exactly ``options`` (as :func:`~cnnbench.predict.saved.fit_options` keys them)."""
    t = rec.spec.target
    return (
        rec.status == "ok"
        and t.engine == engine
        and t.device == "cpu"
        and t.precision == "fp32"
        and rec.spec.batch == 1
        and t.threads == threads
        and fit_options(t.options) == tuple(options)
        and (machine_id is None or rec.machine.get("id") == machine_id)
    )


def study_keys(name: str, specs_of: StudySpecs | None, machine_id: str) -> set[str]:
    """The run keys of a study's planned specs on this machine (the ``--from-study`` hook)."""
    if specs_of is None:
        raise BadInput(
            f"--from-study {name}: studies are not available in this build; "
            "the study runner has to provide its planned specs"
        )
    return {run_key(s.spec_hash(), machine_id) for s in specs_of(name)}


def select(
    records: Iterable[ResultRecord],
    engine: str,
    *,
    threads: int | None = None,
    machine_id: str | None = None,
    keys: set[str] | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> list[ResultRecord]:
    """The records a fit may read (:func:`eligible`), and (for a study) only those whose run
    key is in ``keys``; newest first."""
    out = [
        r
        for r in records
        if eligible(r, engine, threads, machine_id, options) and (keys is None or r.key in keys)
    ]
    return sorted(out, key=lambda r: r.created, reverse=True)


def samples_from(
    records: Sequence[ResultRecord], cost_of: CostOf = default_cost, statistic: str = "median"
) -> list[Sample]:
    """One sample per network profiled in ``records``, with the newest counters any of that
    network's records measured. Repeated profiles of the newest profile's spec (``predict fit
    --collect --repeats N``) are joined: the end-to-end target is the median of theirs, and each
    kernel's time the median of its times, so one disturbed profile moves neither. A profile
    whose timed window other work contended (its load reading: :func:`contended`) is left out
    while an uncontended repeat remains (``contended`` counts them)."""
    profiles: dict[str, list[ResultRecord]] = {}
    counted: dict[str, tuple[Counts, str]] = {}
    for rec in records:  # newest first
        name = rec.spec.model.name
        if rec.spec.mode == "profile" and rec.layers and rec.latency_ms is not None:
            group = profiles.setdefault(name, [])
            if not group or rec.spec_hash == group[0].spec_hash:
                group.append(rec)
        c = counts_of(rec)
        if c is not None:
            counted.setdefault(name, (c, rec.id))
    out = []
    for name, measured in sorted(profiles.items()):
        group = [rec for rec in measured if not contended(rec)] or measured
        cost = cost_of(group[0])
        features = NetworkFeatures.of(cost, name)
        parts = [attribute(rec.layers, cost, features) for rec in group]
        per_kernel = tuple(map(_median, zip(*(p[0] for p in parts), strict=True)))
        counts = counted.get(name)
        out.append(
            Sample(
                model=name,
                family=family_of(name),
                latency_ms=_median(target_ms(rec, statistic) for rec in group),
                features=features,
                kernel_ms=per_kernel,
                unattributed_ms=_median(p[1] for p in parts),
                counts=counts[0] if counts else None,
                run_ids=tuple(rec.id for rec in group) + ((counts[1],) if counts else ()),
                llc_bytes=largest_cache_bytes(group[0].machine),
                lanes=simd_lanes(group[0].machine),
                profiles=len(group),
                repeat_ms=tuple(target_ms(rec, statistic) for rec in group),
                contended=len(measured) - len(group),
            )
        )
    return out


def contended(rec: ResultRecord) -> bool:
    """Whether other work contended the record's timed window, beyond its load reading's
    resolution (:func:`cnnbench.measure.probes.load.contended`; False without a reading)."""
    from cnnbench.measure.probes.load import contended as window_contended

    return any(window_contended(p) for p in rec.probes)


def _median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


def load_samples(
    store: Store,
    engine: str,
    machine_id: str,
    *,
    threads: int | None = None,
    study: str | None = None,
    study_specs: StudySpecs | None = None,
    cost_of: CostOf = default_cost,
    statistic: str = "median",
    target: Quantity = LATENCY,
    options: Sequence[tuple[str, str]] = (),
) -> tuple[list[Sample], list[ResultRecord]]:
    """The samples of this machine's records for ``engine`` (a study's only, when named), and
    the records they came from; for ``ENERGY``, see :func:`cnnbench.predict.energy.samples_from`
    (none when no network has metered energy: :func:`cnnbench.predict.energy.why_none`)."""
    keys = study_keys(study, study_specs, machine_id) if study is not None else None
    records = select(
        store.query(engine=engine, status="ok", samples=statistic == "p10"),
        engine,
        threads=threads,
        machine_id=machine_id,
        keys=keys,
        options=options,
    )
    if target.energy:
        from cnnbench.predict import energy

        return energy.samples_from(records, cost_of), records
    return samples_from(records, cost_of, statistic), records


def software_of(records: Sequence[ResultRecord], engine: str) -> Mapping[str, str]:
    """The versions the records were measured with (cnnbench and the engine's package)."""
    out: dict[str, str] = {}
    for rec in records:
        for k, v in rec.software.items():
            if k in ("cnnbench", engine, "python") or engine in k:
                out.setdefault(k, str(v))
    return out
