"""Cachegrind instructions and last-level misses per inference for the six design patterns.

Usage: python bench/cachegrind_patterns.py [DEPTH ...] (default 10 30); width 64, input
3x32x32, one thread, torch against openvino. Each configuration is two workers under cachegrind
(1 and 11 inferences, differenced): minutes each. Prints one line per configuration.
"""

from __future__ import annotations

import sys
import time

from cnnbench.measure.probes.cachegrind import CachegrindProbe
from cnnbench.spec import ModelRef, RunSpec, Target

PATTERNS = (
    "standard",
    "bottleneck",
    "grouped",
    "depthwise_separable",
    "depthwise_bottleneck",
    "factorized",
)


def main(depths: list[int]) -> None:
    print("pattern depth engine instructions/inf ll_misses/inf d1_misses/inf wall_s", flush=True)
    for depth in depths:
        for pattern in PATTERNS:
            for engine in ("torch", "openvino"):
                name = f"pattern/{pattern}?depth={depth}&width=64"
                spec = RunSpec(ModelRef(name), (3, 32, 32), 1, Target(engine, threads=1))
                t0 = time.perf_counter()
                r = CachegrindProbe().measure(spec.to_dict(), 1800)
                wall = time.perf_counter() - t0
                v = r.values
                print(
                    pattern,
                    depth,
                    engine,
                    v.get("instructions", r.reason),
                    v.get("ll_misses"),
                    v.get("d1_misses"),
                    f"{wall:.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 30])
