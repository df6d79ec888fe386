"""Energy samples: a network's energy per inference from a meter, per kernel from replays.

A network's energy target is read from its newest eligible run whose ``energy`` section a meter
measured (:data:`METERS`: RAPL, NVML; never ``estimated``, a TDP x time, nor ``none``), in mJ
per inference, on one basis for the whole training set (:func:`choose_basis`):

* ``dynamic`` (``dynamic_j_per_inference``: the idle power subtracted) when every network
  measured it and no network's layers have energies;
* else ``total`` (``j_per_inference``): isolated layer replays (``cnnbench profile --replay
  --energy``) measure each layer's total energy per call, and a network's kernels and its own
  figure have to be on one basis; and a network without an idle baseline has no dynamic figure.

Per-kernel energies come from the newest metered run of the network whose every layer has an
``energy_j``, attributed to the predicted kernels as times are
(:func:`cnnbench.predict.dataset.attribute`). A network without them still trains the
per-layer predictor's network terms and the MACs-only and SyNERGY predictors, never the kernel
models. :func:`why_none` says, in one line, why a store has no network to train on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cnnbench.predict.dataset import (
    ENERGY,
    CostOf,
    Counts,
    Quantity,
    Sample,
    attribute,
    counts_of,
    family_of,
    target_ms,
)
from cnnbench.predict.features import NetworkFeatures, largest_cache_bytes, simd_lanes
from cnnbench.predict.network_cost import default_cost
from cnnbench.results.meters import NONE, Energy
from cnnbench.results.record import ResultRecord
from cnnbench.results.sections import LayerRecord

METERS = ("rapl", "nvml")  # energy sources that measured; "estimated" and "none" did not
DYNAMIC, TOTAL = "dynamic", "total"


def metered(energy: Energy) -> bool:
    """Whether a meter measured the section (every part of a joined source is one)."""
    parts = [p.strip() for p in energy.source.split("+")]
    return all(p in METERS for p in parts) and energy.j_per_inference is not None


def layers_metered(rec: ResultRecord) -> bool:
    """Whether every layer of a metered run has its energy per call."""
    return bool(rec.layers) and all(x.energy_j is not None for x in rec.layers)


def layer_mj(layer: LayerRecord) -> float:
    return 1e3 * (layer.energy_j or 0.0)


def choose_basis(energy: Sequence[Energy], per_layer: bool) -> Quantity:
    """The energy target for the whole training set (see the module docstring)."""
    if not energy:
        return ENERGY
    lacking = sum(e.dynamic_j_per_inference is None for e in energy)
    if per_layer:
        why = "layers' isolated replays measure total energy, so the networks' totals are used"
        return Quantity(ENERGY.name, ENERGY.unit, TOTAL, why)
    if lacking:
        why = f"{lacking} of {len(energy)} network(s) have no idle baseline (no dynamic energy)"
        return Quantity(ENERGY.name, ENERGY.unit, TOTAL, why)
    return Quantity(ENERGY.name, ENERGY.unit, DYNAMIC, "idle power subtracted")


def per_inference_mj(energy: Energy, basis: Quantity) -> float | None:
    joules = energy.dynamic_j_per_inference if basis.basis == DYNAMIC else energy.j_per_inference
    return None if joules is None else 1e3 * joules


def samples_from(records: Sequence[ResultRecord], cost_of: CostOf = default_cost) -> list[Sample]:
    """One energy sample per network with metered energy in ``records`` (newest first wins),
    with per-kernel energies where its layers were replayed with a meter, and the newest
    counters any of that network's records measured."""
    energy: dict[str, ResultRecord] = {}
    layered: dict[str, ResultRecord] = {}
    counted: dict[str, tuple[Counts, str]] = {}
    for rec in records:
        name = rec.spec.model.name
        if metered(rec.energy) and rec.latency_ms is not None:
            energy.setdefault(name, rec)
            if layers_metered(rec):
                layered.setdefault(name, rec)
        c = counts_of(rec)
        if c is not None:
            counted.setdefault(name, (c, rec.id))
    target = choose_basis([r.energy for r in energy.values()], bool(layered))
    out = []
    for name, rec in sorted(energy.items()):
        replayed = layered.get(name)
        cost = cost_of(replayed or rec)
        features = NetworkFeatures.of(cost, name)
        kernel_ms: tuple[float, ...] = ()
        kernel_mj: tuple[float, ...] = ()
        loose_ms = loose_mj = 0.0
        if replayed is not None:
            kernel_ms, loose_ms = attribute(replayed.layers, cost, features)
            kernel_mj, loose_mj = attribute(replayed.layers, cost, features, layer_mj)
        counts = counted.get(name)
        ids = (rec.id, *((replayed.id,) if replayed else ()), *((counts[1],) if counts else ()))
        out.append(
            Sample(
                model=name,
                family=family_of(name),
                latency_ms=target_ms(rec),
                features=features,
                kernel_ms=kernel_ms,
                unattributed_ms=loose_ms,
                counts=counts[0] if counts else None,
                run_ids=tuple(dict.fromkeys(ids)),
                llc_bytes=largest_cache_bytes(rec.machine),
                lanes=simd_lanes(rec.machine),
                energy_mj=per_inference_mj(rec.energy, target),
                kernel_mj=kernel_mj,
                unattributed_mj=loose_mj,
                target=target,
            )
        )
    return out


def meter_here(device: str = "cpu") -> str:
    """This machine's energy source for ``device``: ``rapl``/``nvml``, or ``none: why``."""
    if device.startswith("cuda"):
        try:
            from cnnbench.measure.probes.nvml import NvmlMeter

            NvmlMeter(device)
            return "nvml"
        except Exception as exc:  # any failure to open NVML is the reason
            return f"{NONE}: {' '.join(str(exc).split())}"
    from cnnbench.measure.probes import powercap

    try:
        return "rapl" if powercap.discover() else f"{NONE}: no RAPL zone under powercap"
    except (powercap.PowercapError, OSError) as exc:
        return f"{NONE}: {' '.join(str(exc).split())}"


def why_none(records: Sequence[ResultRecord], engine: str, device: str = "cpu") -> str:
    """One line: why no training network of ``records`` has metered energy on ``engine``."""
    sources: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for rec in records:
        e = rec.energy
        if e.source == NONE:
            sources[NONE] += 1
            reasons[e.reason or ""] += 1
        elif metered(e):
            sources["metered without a latency figure"] += 1
        else:
            sources[e.source] += 1
    here = meter_here(device)
    seen = []
    for source, n in sources.most_common():
        if source == NONE:
            top = reasons.most_common(1)[0][0]
            said = not top or here.removeprefix(f"{NONE}: ") in top  # the same reason as here's
            seen.append(f"{n} with energy none" + ("" if said else f" ({top})"))
        elif source == "estimated":
            seen.append(f"{n} estimated (TDP x time, not a meter)")
        else:
            seen.append(f"{n} {source}")
    runs = f"of {len(records)} run(s): {', '.join(seen)}" if records else "no eligible run"
    return (
        f"no training network has measured energy on engine {engine} ({runs}; energy source "
        f"here: {here}); measure with a meter: cnnbench profile --replay --energy"
    )
