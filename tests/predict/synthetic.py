"""Synthetic samples with known coefficients (seeded): kernels, counts and times made here."""

from __future__ import annotations

import numpy as np

from cnnbench.predict.dataset import Counts, Sample
from cnnbench.predict.features import KernelFeatures, NetworkFeatures

# per-kind truth: ms = a * MACs + b * bytes + c
TRUTH = {"conv": (2e-8, 0.0, 0.002), "conv_dw": (0.0, 5e-8, 0.004), "fc": (1e-8, 1e-9, 0.001)}
OVERHEAD_MS = 0.05
FAMILIES = ("alpha", "beta", "gamma", "delta")


def kernel(kind: str, macs: int, nbytes: int) -> KernelFeatures:
    return KernelFeatures(kind, (f"{kind}{macs}",), macs, 2 * macs, 0, 0, nbytes // 2,
                          nbytes // 2, cin=8, cout=8)  # fmt: skip


def kernel_ms(k: KernelFeatures) -> float:
    a, b, c = TRUTH[k.kind]
    return a * k.macs + b * (k.input_bytes + k.output_bytes) + c


def sample(i: int, rng: np.random.Generator, noise: float = 0.0) -> Sample:
    ks = []
    for _ in range(int(rng.integers(3, 9))):
        kind = str(rng.choice(list(TRUTH)))
        ks.append(kernel(kind, int(rng.integers(1e5, 5e7)), int(rng.integers(1e4, 4e6))))
    macs = sum(k.macs for k in ks)
    times = tuple(kernel_ms(k) * (1 + noise * rng.standard_normal()) for k in ks)
    features = NetworkFeatures(f"net{i}", macs, 2 * macs, 0, 0, 0, len(ks), tuple(ks), True)
    instructions, memory = 3.0 * macs + 1e6, 0.01 * macs + 5e3
    return Sample(
        model=f"net{i}",
        family=FAMILIES[i % len(FAMILIES)],
        latency_ms=OVERHEAD_MS + sum(times),
        features=features,
        kernel_ms=times,
        counts=Counts(instructions, memory, "synthetic") if i % 2 == 0 else None,
        run_ids=(f"run{i}",),
    )


def samples(n: int = 24, seed: int = 7, noise: float = 0.0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    return [sample(i, rng, noise) for i in range(n)]
