"""What ``cnnbench predict fit --collect`` measures: the training set, through the normal path.

Profile-mode runs (unprofiled latency, then the engine's profiler, in one isolated worker) of
a zoo subset and of a generated grid of seed 003's design-pattern networks, plus latency runs
with cachegrind counters (simulated, minutes each) on a few pattern networks large enough for
the counters' differential to stand above a worker's start-up noise, for SyNERGY's form. Specs
go through :func:`cnnbench.execute.plan.plan` and are run with resume, so a second
``--collect`` measures only what is missing. ``small`` is a seconds-long set for tests.
"""

from __future__ import annotations

from typing import Literal

from cnnbench.execute.plan import RunRequest, plan
from cnnbench.spec import Budget, RunSpec

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
FULL_GRID = ((4, 32, 112), (8, 64, 112), (12, 128, 56), (6, 48, 160))
SMALL_GRID = ((2, 16, 32), (4, 32, 32))
# pattern networks with cachegrind counters (each about 5 minutes under valgrind here)
COUNTED = ("standard", "depthwise_separable", "bottleneck", "grouped", "factorized")
COUNTED_POINT = (8, 64, 112)


def pattern_name(pattern: str, depth: int, width: int, size: int) -> str:
    from cnnbench.models.patterns import PatternConfig

    return PatternConfig(pattern, depth=depth, width=width, input=size).name


def training_models(size: Size) -> tuple[str, ...]:
    grid = FULL_GRID if size == "full" else SMALL_GRID
    patterns = tuple(pattern_name(p, *point) for point in grid for p in PATTERNS)
    return (*ZOO, *patterns) if size == "full" else ("tinynet", *patterns)


def counted_models(n: int) -> tuple[str, ...]:
    return tuple(pattern_name(p, *COUNTED_POINT) for p in COUNTED[:n])


def collection_specs(
    engine: str, size: Size = "full", *, counted: int = 3, threads: int | None = None
) -> list[RunSpec]:
    """Profile runs of the training networks, then cachegrind runs of ``counted`` of them."""
    budget = Budget(seconds=1.0 if size == "full" else 0.3, profile_calls=5)
    specs = plan(
        RunRequest(
            models=training_models(size),
            engines=(engine,),
            modes=("profile",),
            threads=threads,
            budget=budget,
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
            )
        )
    return specs
