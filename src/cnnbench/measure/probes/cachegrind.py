"""Simulated cache counts per inference: cachegrind on two workers, differenced.

Where perf has no PMU (this KVM guest), ``valgrind --tool=cachegrind --cache-sim=yes`` runs
:data:`COUNTED_ENTRY` twice, with :data:`CALLS` inferences after one untimed call each; the
difference of the two totals, divided by the difference of the calls, is one inference
(model build, import and engine compilation cancel out; a plain worker runs first, so that an
export cached on first use is in neither counted run). Caches are simulated with this
machine's sizes from sysfs (I1, D1, and the last level). Valgrind executes no AVX-512: under it
the CPU reports AVX2 at most, so engines take their AVX2 paths (the reading says so). The
counts are deterministic but simulated: ``source`` is ``cachegrind (simulated)``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cnnbench.measure.isolation import run_worker
from cnnbench.measure.probes.base import LauncherProbe, ProbeReading, SideProbe, Value
from cnnbench.results._json import is_number

COUNTED_ENTRY = "cnnbench.measure.counted:run_calls"
CALLS = (1, 11)  # run-to-run noise of a worker is ~1 % of its start-up: ten inferences apart
SYSFS_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")
SOURCE = "cachegrind (simulated)"
NOTE = "valgrind runs no AVX-512: engines took their AVX2 (or lower) paths under it"
# cachegrind event -> the record's name
NAMES = {
    "Ir": "instructions",
    "Dr": "data_reads",
    "Dw": "data_writes",
    "I1mr": "i1_misses",
    "D1mr": "d1_read_misses",
    "D1mw": "d1_write_misses",
    "ILmr": "ll_instruction_misses",
    "DLmr": "ll_read_misses",
    "DLmw": "ll_write_misses",
}


@dataclass(frozen=True)
class Cache:
    level: int
    kind: str  # Data | Instruction | Unified
    size_b: int
    ways: int
    line_b: int

    def option(self) -> str:
        return f"{self.size_b},{self.ways},{self.line_b}"


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1024, "M": 1024**2}.get(text[-1:], 1)
    return int(text.rstrip("KM")) * scale


def machine_caches(root: Path = SYSFS_CACHE) -> list[Cache]:
    caches = []
    for index in sorted(root.glob("index*")):
        try:
            caches.append(
                Cache(
                    int((index / "level").read_text()),
                    (index / "type").read_text().strip(),
                    _size((index / "size").read_text()),
                    int((index / "ways_of_associativity").read_text()),
                    int((index / "coherency_line_size").read_text()),
                )
            )
        except (OSError, ValueError):
            continue
    return caches


def _power_of_two_sets(cache: Cache) -> Cache:
    """Cachegrind needs a power-of-two set count: shrink the size to the nearest below."""
    sets = cache.size_b // (cache.ways * cache.line_b)
    if sets & (sets - 1) == 0:
        return cache
    p2 = 1 << (sets.bit_length() - 1)
    return Cache(cache.level, cache.kind, p2 * cache.ways * cache.line_b, cache.ways, cache.line_b)


def cache_options(caches: list[Cache]) -> list[str]:
    """``--I1 --D1 --LL`` from sysfs; valgrind's own guess for any that is missing."""
    opts = []
    i1 = next((c for c in caches if c.level == 1 and c.kind == "Instruction"), None)
    d1 = next((c for c in caches if c.level == 1 and c.kind == "Data"), None)
    unified = [c for c in caches if c.kind == "Unified"]
    ll = max(unified, key=lambda c: c.level) if unified else None
    for flag, cache in (("--I1", i1), ("--D1", d1), ("--LL", ll)):
        if cache is not None:
            opts.append(f"{flag}={_power_of_two_sets(cache).option()}")
    return opts


def parse_cachegrind_out(text: str) -> dict[str, int]:
    """The ``events:`` and ``summary:`` lines of a cachegrind.out file, as event -> total."""
    events: list[str] = []
    summary: list[str] = []
    for line in text.splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            summary = line.split()[1:]
    if not events or len(summary) != len(events):
        raise ValueError("no events/summary lines in the cachegrind output")
    return {e: int(v) for e, v in zip(events, summary, strict=True)}


def per_record(totals: dict[str, float]) -> dict[str, float]:
    """Cachegrind's events renamed, plus the issue's combined keys (d1_misses, ll_misses)."""
    out = {NAMES.get(k, k): v for k, v in totals.items()}
    if "D1mr" in totals:
        out["d1_misses"] = totals["D1mr"] + totals.get("D1mw", 0)
    if "DLmr" in totals:
        out["ll_misses"] = totals["DLmr"] + totals.get("DLmw", 0) + totals.get("ILmr", 0)
    return out


class CachegrindLauncher(LauncherProbe):
    """One worker under cachegrind; its reading is the whole worker's totals."""

    name = "cachegrind-worker"
    kind = "counters"

    def launcher(self, out_dir: Path) -> list[str]:
        return [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=yes",
            *cache_options(machine_caches()),
            f"--cachegrind-out-file={out_dir / 'cachegrind.out'}",
            f"--log-file={out_dir / 'valgrind.log'}",
        ]

    def env(self, out_dir: Path) -> dict[str, str]:
        # The same work in both runs: fixed hashes, and no bytecode written by the first.
        return {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}

    def collect(self, out_dir: Path, returncode: int | None) -> ProbeReading:
        totals = parse_cachegrind_out((out_dir / "cachegrind.out").read_text())
        return ProbeReading(self.name, self.kind, SOURCE, dict(totals))


class CachegrindProbe(SideProbe):
    """``--counters cachegrind``: per-inference simulated counts from two runs."""

    name = "cachegrind"
    kind = "counters"

    def measure(self, spec: dict[str, object], timeout_s: float) -> ProbeReading:
        if shutil.which("valgrind") is None:
            reason = "valgrind is not installed (fix: `apt-get install valgrind`)"
            return ProbeReading.unavailable(self.name, self.kind, reason)
        target = spec.get("target")
        threads = target.get("threads") if isinstance(target, dict) else None
        threads = threads if isinstance(threads, int) else 1
        # A plain worker first: exports and caches made on the first use (the ONNX export an
        # engine loads) must not land in one of the two counted runs only.
        warm = run_worker(COUNTED_ENTRY, {"spec": spec, "calls": 0}, timeout_s=timeout_s)
        if warm.status != "ok":
            why = f"the model did not run outside valgrind: {warm.error or warm.status}"
            return ProbeReading.unavailable(self.name, self.kind, why)
        totals: list[dict[str, float]] = []
        walls: list[float] = []
        for calls in CALLS:
            out = run_worker(
                COUNTED_ENTRY,
                {"spec": spec, "calls": calls},
                timeout_s=timeout_s,
                threads=threads,
                launchers=[CachegrindLauncher()],
            )
            (reading,) = out.probe_readings
            if out.status != "ok" or reading.source != SOURCE:
                why = out.error or reading.reason or out.status
                return ProbeReading.unavailable(
                    self.name, self.kind, f"cachegrind run with {calls} call(s): {why}"
                )
            totals.append(
                {k: float(v) for k, v in reading.values.items() if k in NAMES and is_number(v)}
            )
            walls.append(out.wall_s)
        calls = CALLS[1] - CALLS[0]
        diff = {k: totals[1][k] - totals[0].get(k, 0.0) for k in totals[1]}
        # A negative difference is below the two workers' noise: absent, said so, never 0.
        noisy = sorted(NAMES[k] for k, v in diff.items() if v < 0)
        values: dict[str, Value] = {
            k: v for k, v in per_record(diff).items() if v >= 0 and k not in noisy
        }
        for name in noisy:
            values[name] = "below noise"
        for combined, prefix in (("ll_misses", "ll_"), ("d1_misses", "d1_")):
            if any(n.startswith(prefix) for n in noisy):
                values[combined] = "below noise"
        values["inferences"] = calls
        values["caches"] = " ".join(cache_options(machine_caches()))
        # The rest of the worker (import, build, compile): the differential's noise floor.
        values["worker_instructions_one_call"] = int(totals[0].get("Ir", 0))
        # window_s: the longer worker's wall time under valgrind (its slowdown shows there).
        note = NOTE + (f"; below the differential's noise: {', '.join(noisy)}" if noisy else "")
        return ProbeReading(self.name, self.kind, SOURCE, values, note, walls[1])
