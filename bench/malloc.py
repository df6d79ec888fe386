"""glibc malloc as it comes against ``--option malloc=keep``, side by side, per network.

    python bench/malloc.py [--engine torch] [--rounds 3] [--threads 1] [MODEL ...]

Each round runs every model once with ``malloc=default`` and once with ``malloc=keep``, in
alternating order, each in a fresh worker; it prints the medians, the minor page faults per
call that the load reading counted in the timed window, and the ratio default/keep of each
round (measured in the same minute, so the machine's drift cancels), then the median ratio.
"""

from __future__ import annotations

import argparse
import statistics

from _common import cnnbench

MODELS = ("mobilenet_v2", "resnet18", "squeezenet1_0", "googlenet", "nasnet_a_mobile")


def measure(model: str, engine: str, threads: int, setting: str) -> tuple[float, float]:
    """(median ms, minor faults per call in the timed window) of one fresh run."""
    rec = cnnbench(
        ["run", model, "-e", engine, "--threads", str(threads), "--option", f"malloc={setting}"]
    )[0]
    if rec["status"] != "ok":
        raise SystemExit(f"{model} malloc={setting}: {rec['status']}: {rec.get('error')}")
    load = next(p for p in rec["probes"] if p["probe"] == "load")
    values = load["values"]
    return float(rec["timing"]["median_ms"]), values["minor_faults"] / values["inferences"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=list(MODELS))
    p.add_argument("--engine", default="torch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    for model in args.models:
        ratios = []
        for r in range(args.rounds):
            order = ("default", "keep") if r % 2 == 0 else ("keep", "default")
            got = {s: measure(model, args.engine, args.threads, s) for s in order}
            (d_ms, d_faults), (k_ms, k_faults) = got["default"], got["keep"]
            ratios.append(d_ms / k_ms)
            print(
                f"{model} round {r}: default {d_ms:.3f} ms ({d_faults:.0f} faults/call), "
                f"keep {k_ms:.3f} ms ({k_faults:.1f} faults/call), default/keep {ratios[-1]:.3f}"
            )
        print(f"{model} on {args.engine}: median default/keep = {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
