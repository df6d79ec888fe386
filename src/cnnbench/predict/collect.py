"""What ``cnnbench predict fit --collect`` measures: the training set, through the normal path.

Profile-mode runs (unprofiled latency, then the engine's profiler, in one isolated worker) of
a zoo subset and of a generated grid of seed 003's design-pattern networks, plus latency runs
with cachegrind counters (simulated, minutes each) on a few pattern networks large enough for
the counters' differential to stand above a worker's start-up noise, for SyNERGY's form. One-layer
probes (``layer/...``, :func:`probe_models`) sample the kernel space apart from every evaluated
network, as nn-Meter samples its kernels: they train the per-kind models only. Specs
go through :func:`cnnbench.execute.plan.plan` and are run with resume, so a second
``--collect`` measures only what is missing. With ``repeats`` (``--repeats N``) every network
and probe is profiled N times, one pass over the whole set per round, so that its repeats are
minutes apart and a passing disturbance of the machine hits one of them, not all; samples join
them (:func:`cnnbench.predict.dataset.samples_from`: medians). ``small`` is a seconds-long set
for tests. For the energy target (where a meter exists) the training networks run in mode
replay with the energy probe instead: every distinct layer timed alone with the meter around
it, and the whole network metered, which is what :mod:`cnnbench.predict.energy` reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from cnnbench.execute.plan import RunRequest, plan
from cnnbench.results.record import run_key
from cnnbench.spec import Budget, RunSpec

if TYPE_CHECKING:
    from cnnbench.store.sqlite import Store

Size = Literal["small", "full"]

# Zoo networks a 2-core machine profiles in seconds each (the largest, nasnet_a_large,
# resnet152, resnext101_32x8d and vgg19, are left out: minutes each, and their families are in)
ZOO = (
    "alexnet", "darts", "googlenet", "inception_v3", "mobilenet_v1", "mobilenet_v2",
    "nasnet_a_mobile", "nin", "resnet18", "resnet34", "resnet50", "resnet101_cifar",
    "resnext50_32x4d", "squeezenet1_0", "squeezenet1_1", "vgg16", "yolov2",
)  # fmt: skip
PATTERNS = (
    "standard", "factorized", "bottleneck", "depthwise_separable", "depthwise_bottleneck",
    "grouped",
)  # fmt: skip
# (depth, width, input) of the pattern grid
FULL_GRID = ((4, 32, 112), (8, 64, 112), (12, 128, 56), (6, 48, 160),
             (2, 24, 224), (10, 96, 64), (16, 48, 96), (5, 160, 128))  # fmt: skip
SMALL_GRID = ((2, 16, 32), (4, 32, 32))
# pattern networks with cachegrind counters (each about 5 minutes under valgrind here)
COUNTED = ("standard", "depthwise_separable", "bottleneck", "grouped", "factorized")
COUNTED_POINT = (8, 64, 112)


def pattern_name(pattern: str, depth: int, width: int, size: int) -> str:
    from cnnbench.models.patterns import PatternConfig

    return PatternConfig(pattern, depth=depth, width=width, input=size).name


# one-layer probes: how many, their seed, and the largest a probe may be (MACs)
PROBES = {"full": 160, "small": 4}
PROBE_SEED = 2019
PROBE_MAX_MACS = 4e8
SIDES = (7, 14, 28, 56, 112)
SIDE_WEIGHTS = (0.25, 0.25, 0.2, 0.2, 0.1)
# kinds of probe and their shares of the sample
PROBE_KINDS = {"conv": 0.35, "conv_1x1": 0.15, "conv_dw": 0.15, "conv_group": 0.1,
               "conv_1xk": 0.05, "fc": 0.1, "pool": 0.1}  # fmt: skip


def _channels(rng: np.random.Generator, low: int = 16, high: int = 1024) -> int:
    """Log-uniform channels, rounded to a multiple of 8."""
    c = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(8, round(c / 8) * 8)


def _probe(rng: np.random.Generator, kind: str) -> str:
    from cnnbench.models.layers import LayerConfig

    hw = int(rng.choice(SIDES, p=SIDE_WEIGHTS))
    stride = 2 if rng.random() < 0.25 else 1
    cin, cout = _channels(rng), _channels(rng)
    if kind == "fc":
        return LayerConfig("fc", cin=_channels(rng, 64, 9216), cout=_channels(rng, 10, 4096)).name
    if kind == "pool":
        k = int(rng.choice((2, 3)))
        which = "maxpool" if rng.random() < 0.7 else "avgpool"
        return LayerConfig(which, cin=cin, hw=hw, kh=k, kw=k, stride=2 if k == 2 else stride).name
    k, kw, groups = 3, 3, 1
    if kind == "conv":
        k = kw = int(rng.choice((3, 5, 7), p=(0.8, 0.1, 0.1)))
    elif kind == "conv_1x1":
        k = kw = 1
    elif kind == "conv_dw":
        k = kw = int(rng.choice((3, 5), p=(0.8, 0.2)))
        groups = cout = cin
    elif kind == "conv_group":
        width = int(rng.choice((4, 8, 16)))
        groups = max(2, cin // width)
        cin = cout = groups * width
    else:  # 1 x k, k x 1 (factorized)
        n = int(rng.choice((3, 7)))
        k, kw = (1, n) if rng.random() < 0.5 else (n, 1)
    k, kw = min(k, hw), min(kw, hw)
    return LayerConfig("conv", cin=cin, cout=cout, hw=hw, kh=k, kw=kw, stride=stride,
                       groups=groups).name  # fmt: skip


def _macs(name: str) -> float:
    from cnnbench.models.layers import LayerConfig

    c = LayerConfig.parse(name)
    if c.kind == "fc":
        return c.cin * c.cout
    out = math.ceil(c.hw / c.stride) ** 2
    if c.kind != "conv":
        return c.cin * out * c.kh * c.kw
    return out * c.cout * (c.cin // c.groups) * c.kh * c.kw


def probe_models(n: int, seed: int = PROBE_SEED) -> tuple[str, ...]:
    """``n`` distinct one-layer probes drawn (seeded) over kinds, shapes and sizes, each at most
    :data:`PROBE_MAX_MACS`, independent of any network the predictors are judged on."""
    rng = np.random.default_rng(seed)
    kinds, shares = zip(*PROBE_KINDS.items(), strict=True)
    out: dict[str, None] = {}
    while len(out) < n:
        name = _probe(rng, str(rng.choice(kinds, p=np.array(shares) / sum(shares))))
        if _macs(name) <= PROBE_MAX_MACS:
            out[name] = None
    return tuple(out)


def training_models(size: Size) -> tuple[str, ...]:
    grid = FULL_GRID if size == "full" else SMALL_GRID
    patterns = tuple(pattern_name(p, *point) for point in grid for p in PATTERNS)
    probes = probe_models(PROBES[size])
    return (*ZOO, *patterns, *probes) if size == "full" else ("tinynet", *patterns, *probes)


def counted_models(n: int) -> tuple[str, ...]:
    return tuple(pattern_name(p, *COUNTED_POINT) for p in COUNTED[:n])


def collection_specs(
    engine: str,
    size: Size = "full",
    *,
    counted: int = 3,
    threads: int | None = None,
    target: str = "latency",
    options: tuple[tuple[str, str], ...] = (),
) -> list[RunSpec]:
    """Profile runs of the training networks (for energy: metered replays), then cachegrind
    runs of ``counted`` of them, all with the engine ``options``."""
    budget = Budget(seconds=1.0 if size == "full" else 0.3, profile_calls=5)
    energy = target == "energy"
    specs = plan(
        RunRequest(
            models=training_models(size),
            engines=(engine,),
            modes=("replay",) if energy else ("profile",),
            threads=threads,
            budget=budget,
            probes=("energy",) if energy else (),
            options=options,
        )
    )
    if counted:
        specs += plan(
            RunRequest(
                models=counted_models(counted),
                engines=(engine,),
                threads=threads,
                budget=Budget(seconds=0.5),
                probes=("cachegrind",),
                options=options,
            )
        )
    return specs


def short_of(
    specs: Sequence[RunSpec], store: Store, machine_id: str, repeats: int
) -> list[RunSpec]:
    """The profile and replay specs with fewer than ``repeats`` ok runs on this machine, once
    each (one more round of them); counter runs are simulated and are not repeated."""
    timed = [s for s in specs if s.mode in ("profile", "replay")]
    keys = {s: run_key(s.spec_hash(), machine_id) for s in timed}
    counts = store.ok_run_counts(keys.values())
    return [s for s in timed if counts.get(keys[s], 0) < repeats]
