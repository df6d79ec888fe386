"""RAPL energy counters through Linux powercap (``/sys/class/powercap/intel-rapl:*``).

The tree: a top-level zone per package (``intel-rapl:0`` named ``package-0``), its subzones
(``intel-rapl:0:0`` ``core``, ``intel-rapl:0:1`` ``uncore``, and on servers a ``dram`` subzone)
and, on some client parts, a top-level ``psys`` zone (the whole platform). AMD (``amd_energy``
no longer; ``intel_rapl`` since Linux 5.11 on Zen) exposes the same layout.

What is counted, so that no joule is counted twice:

- ``psys`` where it exists (it includes the packages and DRAM): the total is psys alone;
- otherwise every ``package`` zone, plus every ``dram`` zone (DRAM is its own RAPL domain, not
  part of package energy, even where powercap files it as a package's subzone);
- ``core`` and ``uncore`` (parts of their package) are read and reported, never added.

Each counter (``energy_uj``) wraps at ``max_energy_range_uj``: a delta that goes negative had one
wrap, so callers read often enough that at most one can occur (:func:`wrap_period_s`).
The root is ``/sys/class/powercap`` unless ``CNNBENCH_POWERCAP_ROOT`` names another folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT_ENV = "CNNBENCH_POWERCAP_ROOT"
DEFAULT_ROOT = Path("/sys/class/powercap")
DEFAULT_MAX_RANGE_UJ = 2**32  # the smallest range seen; used only when the file is missing
PLAUSIBLE_MAX_W = 2000.0  # a CPU socket plus DRAM never draws more: bounds the wrap period
FIX_PERMISSION = (
    "energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694, PLATYPUS); fix: "
    "run as root, or `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj` "
    "(or a udev rule) on a machine you trust"
)
FIX_MISSING = (
    "fix: on bare metal load the driver (`sudo modprobe intel_rapl_msr`); a virtual machine "
    "usually exposes no RAPL at all; or set CNNBENCH_POWERCAP_ROOT to a powercap tree"
)


class PowercapError(Exception):
    """RAPL cannot be read here; the message says why and how to fix it."""


@dataclass(frozen=True)
class Zone:
    """One powercap zone: its folder name (``intel-rapl:0:2``), its domain name (``dram``)."""

    key: str
    name: str
    path: Path
    max_range_uj: int
    counted: bool  # part of the total (see the module's rules)

    @property
    def parent(self) -> str | None:
        parts = self.key.split(":")
        return ":".join(parts[:-1]) if len(parts) > 2 else None

    def read_uj(self) -> int:
        return int((self.path / "energy_uj").read_text().strip())


def powercap_root() -> Path:
    env = os.environ.get(ROOT_ENV)
    return Path(env) if env else DEFAULT_ROOT


def _domain(name: str) -> str:
    """``package-0`` -> ``package``; ``dram`` -> ``dram``."""
    return name.split("-")[0].strip().lower()


def discover(root: Path | None = None) -> list[Zone]:
    """Every RAPL zone under ``root`` with a readable counter, marked counted or not.

    Raises :class:`PowercapError` with the reason and the fix when there is no tree, no zone,
    or no counter that this user may read.
    """
    base = root if root is not None else powercap_root()
    if not base.is_dir():
        raise PowercapError(f"no powercap tree at {base} (no RAPL driver loaded); {FIX_MISSING}")
    dirs = sorted(
        (p for p in base.glob("intel-rapl:*") if (p / "energy_uj").exists()),
        key=lambda p: [int(x) for x in p.name.split(":")[1:] if x.isdigit()],
    )
    if not dirs:
        raise PowercapError(f"{base} has no intel-rapl zones with energy_uj; {FIX_MISSING}")
    found: list[tuple[str, str, Path, int]] = []
    denied: list[str] = []
    for d in dirs:
        try:
            (d / "energy_uj").read_text()
        except PermissionError:
            denied.append(d.name)
            continue
        name = (d / "name").read_text().strip() if (d / "name").exists() else d.name
        try:
            max_range = int((d / "max_energy_range_uj").read_text().strip())
        except (OSError, ValueError):
            max_range = DEFAULT_MAX_RANGE_UJ
        found.append((d.name, name, d, max_range))
    if not found:
        raise PowercapError(f"{base}/{denied[0]}/energy_uj: permission denied; {FIX_PERMISSION}")
    has_psys = any(_domain(name) == "psys" for _, name, _, _ in found)
    zones = []
    for key, name, path, max_range in found:
        domain = _domain(name)
        counted = domain == "psys" if has_psys else domain in ("package", "dram")
        zones.append(Zone(key, name, path, max_range, counted))
    if not any(z.counted for z in zones):
        names = ", ".join(f"{z.key} ({z.name})" for z in zones)
        raise PowercapError(f"no package, dram or psys zone among {names}")
    return zones


def delta_uj(before: int, after: int, max_range_uj: int) -> int:
    """Energy between two readings of one counter, allowing for one wrap-around."""
    d = after - before
    return d + max_range_uj if d < 0 else d


def wrap_period_s(zones: list[Zone], max_w: float = PLAUSIBLE_MAX_W) -> float:
    """The shortest time in which a counter could wrap at ``max_w``: read more often."""
    return min(z.max_range_uj for z in zones) / 1e6 / max_w


class Accumulator:
    """Energy per zone since :meth:`reset`, from readings taken at least once per wrap period."""

    def __init__(self, zones: list[Zone]) -> None:
        self.zones = zones
        self.total_uj: dict[str, int] = {}
        self._last: dict[str, int] = {}

    def reset(self) -> None:
        self._last = {z.key: z.read_uj() for z in self.zones}
        self.total_uj = {z.key: 0 for z in self.zones}

    def sample(self) -> None:
        for z in self.zones:
            now = z.read_uj()
            self.total_uj[z.key] += delta_uj(self._last[z.key], now, z.max_range_uj)
            self._last[z.key] = now

    def joules(self) -> float:
        """The counted total (no nested domain twice)."""
        return sum(self.total_uj[z.key] for z in self.zones if z.counted) / 1e6

    def by_zone_j(self) -> Mapping[str, float]:
        """Every zone's energy, counted or not, as ``intel-rapl:0:package-0_j``."""
        return {f"{z.key}:{z.name}_j": self.total_uj[z.key] / 1e6 for z in self.zones}

    def stuck(self) -> list[Zone]:
        """Counted zones whose counter did not move."""
        return [z for z in self.zones if z.counted and self.total_uj[z.key] == 0]
