"""Probes for the tests: one around the timed window, one through a launcher prefix."""

from __future__ import annotations

from pathlib import Path

from cnnbench.measure.probes.base import LauncherProbe, Probe, ProbeReading

LAUNCHER = Path(__file__).parent / "fixtures" / "launcher.sh"


class CountingProbe(Probe):
    """Counts its starts and stops; the reading carries both counts."""

    name = "counting"
    kind = "counters"

    def __init__(self) -> None:
        self.starts = 0
        self.stops = 0

    def start(self) -> None:
        self.starts += 1

    def stop(self) -> ProbeReading:
        self.stops += 1
        return ProbeReading(
            self.name, self.kind, "test", {"starts": self.starts, "stops": self.stops}
        )


class BrokenProbe(Probe):
    """Fails to start: the window must go on and say why."""

    name = "broken"
    kind = "energy"

    def start(self) -> None:
        raise PermissionError("energy_uj is root only")

    def stop(self) -> ProbeReading:
        raise AssertionError("never started, never stopped")


class ShellLauncher(LauncherProbe):
    """Runs the worker under tests/fixtures/launcher.sh and reads the argv it recorded."""

    name = "shell"
    kind = "other"

    def launcher(self, out_dir: Path) -> list[str]:
        return ["/bin/sh", str(LAUNCHER), str(out_dir)]

    def collect(self, out_dir: Path, returncode: int | None) -> ProbeReading:
        argv = (out_dir / "argv").read_text().splitlines()
        return ProbeReading(
            self.name,
            self.kind,
            "test",
            {"argv0": argv[0], "module": argv[2], "returncode": returncode},
        )


class MissingOutputLauncher(ShellLauncher):
    """Claims a launcher but never finds its output."""

    name = "missing"

    def collect(self, out_dir: Path, returncode: int | None) -> ProbeReading:
        return ProbeReading(
            self.name, self.kind, "test", {"n": len((out_dir / "nope").read_text())}
        )
