"""``perf stat`` around the worker, counting the timed window only.

The worker runs under ``perf stat -x, -D -1 --control fifo:CTL,ACK -o OUT -e EVENTS``: counting
starts disabled, and the worker's :class:`PerfControl` window probe writes ``enable`` to the
control fifo right before the first timed call and ``disable`` right after the last (each
acknowledged by perf), so the counts are those of the timed window; the record divides them by
the window's calls. Events: instructions, cycles, cache references and misses, LLC load misses,
task-clock (a software event, counted even without a PMU), and the PMU's SIMD floating-point
events where perf knows them (Intel ``fp_arith_inst_retired.*``, AMD ``fp_ret_sse_avx_ops.all``).
Events the machine lacks are read as ``not supported`` / ``not counted``, never as zero.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cnnbench.measure.probes.base import LauncherProbe, Probe, ProbeReading, Value
from cnnbench.results.meters import WINDOW_SCOPE

CTL_ENV = "CNNBENCH_PERF_CTL"
ACK_ENV = "CNNBENCH_PERF_ACK"
EVENTS = (
    "instructions",
    "cycles",
    "cache-references",
    "cache-misses",
    "LLC-load-misses",
    "task-clock",
)
SIMD_EVENTS = {
    "GenuineIntel": (
        "fp_arith_inst_retired.scalar_single",
        "fp_arith_inst_retired.scalar_double",
        "fp_arith_inst_retired.128b_packed_single",
        "fp_arith_inst_retired.256b_packed_single",
        "fp_arith_inst_retired.512b_packed_single",
    ),
    "AuthenticAMD": ("fp_ret_sse_avx_ops.all",),
}
OUT_FILE = "perf.csv"


@dataclass(frozen=True)
class PerfLine:
    event: str
    value: float | None  # None: not supported or not counted
    status: str  # "counted" | "not supported" | "not counted"
    unit: str
    running_pct: float | None


def parse_perf_csv(text: str) -> list[PerfLine]:
    """Lines of ``perf stat -x,`` output: value,unit,event,run time,percent running,..."""
    lines = []
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split(",")
        if len(fields) < 3:
            continue
        value, unit, event = fields[0].strip(), fields[1].strip(), fields[2].strip()
        pct = fields[4].strip() if len(fields) > 4 else ""
        running = float(pct) if pct.replace(".", "", 1).isdigit() else None
        if value.startswith("<"):
            status = value.strip("<>")
            lines.append(PerfLine(event, None, status, unit, running))
        else:
            lines.append(PerfLine(event, float(value), "counted", unit, running))
    return lines


def reading_from_lines(lines: list[PerfLine], probe: str = "perf") -> ProbeReading:
    if not lines:
        return ProbeReading.unavailable(probe, "counters", "perf wrote no counts")
    values: dict[str, Value] = {"scope": WINDOW_SCOPE}
    for line in lines:
        name = line.event.replace("-", "_").replace(".", "_")
        if line.event == "task-clock":
            name = "task_clock_ms"
        values[name] = line.value if line.value is not None else line.status
    counted = [ln for ln in lines if ln.value is not None and ln.event != "task-clock"]
    if not counted:
        missing = ", ".join(f"{ln.event} ({ln.status})" for ln in lines if ln.value is None)
        reason = (
            f"no hardware event was counted: {missing}; this machine exposes no PMU to perf "
            "(a virtual machine without PMU passthrough); fix: run on bare metal or enable "
            "the vPMU"
        )
        kept = {k: v for k, v in values.items() if k in ("scope", "task_clock_ms")}
        return ProbeReading(probe, "counters", "none", kept, reason)  # task-clock: evidence
    scaled = [ln.event for ln in counted if ln.running_pct is not None and ln.running_pct < 100]
    note = f"multiplexed (scaled by perf): {', '.join(scaled)}" if scaled else None
    return ProbeReading(probe, "counters", "perf", values, note)


def simd_events(vendor: str) -> tuple[str, ...]:
    """The SIMD events perf accepts here (an unknown name would stop perf before the worker)."""
    events = SIMD_EVENTS.get(vendor, ())
    if not events:
        return ()
    probe = subprocess.run(
        ["perf", "stat", "-x,", "-e", ",".join(events), "true"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return events if probe.returncode == 0 else ()


def cpu_vendor() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("vendor_id"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


class PerfProbe(LauncherProbe):
    name = "perf"
    kind = "counters"

    def launcher(self, out_dir: Path) -> list[str]:
        perf = shutil.which("perf")
        if perf is None:
            return []  # collect() says why
        ctl, ack = out_dir / "ctl", out_dir / "ack"
        os.mkfifo(ctl)
        os.mkfifo(ack)
        events = (*EVENTS, *simd_events(cpu_vendor()))
        return [
            perf,
            "stat",
            "-x,",
            "-D",
            "-1",
            "--control",
            f"fifo:{ctl},{ack}",
            "-o",
            str(out_dir / OUT_FILE),
            "-e",
            ",".join(events),
            "--",
        ]

    def env(self, out_dir: Path) -> dict[str, str]:
        if shutil.which("perf") is None:
            return {}
        return {CTL_ENV: str(out_dir / "ctl"), ACK_ENV: str(out_dir / "ack")}

    def collect(self, out_dir: Path, returncode: int | None) -> ProbeReading:
        if shutil.which("perf") is None:
            reason = "perf is not installed (fix: install linux-tools / linux-perf)"
            return ProbeReading.unavailable(self.name, self.kind, reason)
        path = out_dir / OUT_FILE
        if not path.exists():
            return ProbeReading.unavailable(self.name, self.kind, "perf wrote no output")
        return reading_from_lines(parse_perf_csv(path.read_text()), self.name)


class PerfControl(Probe):
    """Inside the worker: enables perf's counters for the timed window through its fifo."""

    name = "perf-control"
    kind = "other"

    def __init__(self, ctl: str, ack: str) -> None:
        self._ctl = open(ctl, "w")  # noqa: SIM115 (held for the worker's life)
        self._ack = open(ack)  # noqa: SIM115
        self._acks = 0

    def _send(self, command: str) -> None:
        self._ctl.write(command + "\n")
        self._ctl.flush()
        if "ack" in self._ack.readline():
            self._acks += 1

    def start(self) -> None:
        self._send("enable")

    def stop(self) -> ProbeReading:
        self._send("disable")
        return ProbeReading(self.name, self.kind, "perf", {"acknowledged": self._acks})


def control_from_env() -> PerfControl | None:
    ctl, ack = os.environ.get(CTL_ENV), os.environ.get(ACK_ENV)
    return PerfControl(ctl, ack) if ctl and ack else None
