"""Machine fingerprint: what a result was measured on.

Every reader takes a ``root`` so that tests can point it at a fixture tree laid out like ``/``
(``proc/cpuinfo``, ``proc/meminfo``, ``sys/devices/system/cpu/...``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

# The instruction-set flags that matter for CNN kernels, as /proc/cpuinfo spells them.
ISA_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "sve",
)

PACKAGES = ("cnnbench", "torch", "numpy", "onnx", "onnxruntime", "onnxruntime-gpu", "openvino")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """Model name, logical/physical core counts and ISA flags from /proc/cpuinfo text."""
    model = None
    flags: set[str] = set()
    logical = 0
    cores: set[tuple[str, str]] = set()
    physical_id = core_id = None
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        if "processor" not in fields:
            continue
        logical += 1
        model = model or fields.get("model name") or fields.get("Processor") or fields.get("cpu")
        flags.update((fields.get("flags") or fields.get("Features") or "").split())
        physical_id = fields.get("physical id")
        core_id = fields.get("core id")
        if physical_id is not None and core_id is not None:
            cores.add((physical_id, core_id))
    return {
        "cpu_model": model or platform.processor() or "unknown",
        "logical_cores": logical,
        "physical_cores": len(cores) if cores else None,
        "isa": sorted(f for f in ISA_FLAGS if f in flags),
        "hypervisor_flag": "hypervisor" in flags,
    }


def parse_meminfo(text: str) -> int | None:
    """MemTotal in bytes from /proc/meminfo text."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024 if parts[2].lower() == "kb" else int(parts[1])
    return None


def _size_bytes(text: str) -> int:
    text = text.strip()
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text and text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def read_caches(root: Path) -> list[dict[str, Any]]:
    """Cache levels of CPU 0 from sysfs: level, type, size in bytes, CPUs sharing it."""
    base = root / "sys/devices/system/cpu/cpu0/cache"
    out = []
    for index in sorted(base.glob("index*")):
        level, kind, size = (_read(index / n) for n in ("level", "type", "size"))
        if level is None or size is None:
            continue
        shared = (_read(index / "shared_cpu_list") or "").strip()
        out.append(
            {
                "level": int(level),
                "type": (kind or "").strip().lower(),
                "size_bytes": _size_bytes(size),
                "shared_cpu_list": shared or None,
            }
        )
    return out


def detect_hypervisor(root: Path, hypervisor_flag: bool) -> str | None:
    """The hypervisor's name when the machine is a guest, else None."""
    kind = _read(root / "sys/hypervisor/type")
    if kind and kind.strip():
        return kind.strip()
    vendor = (_read(root / "sys/class/dmi/id/sys_vendor") or "").strip()
    product = (_read(root / "sys/class/dmi/id/product_name") or "").strip()
    for name in ("KVM", "QEMU", "VMware", "Xen", "Microsoft", "Amazon EC2", "Google"):
        if name.lower() in f"{vendor} {product}".lower():
            return "KVM" if name == "QEMU" else name
    return "unknown hypervisor" if hypervisor_flag else None


def parse_nvidia_smi(text: str) -> list[dict[str, Any]]:
    """GPUs from the CSV of ``nvidia-smi --query-gpu=name,memory.total,driver_version
    --format=csv,noheader,nounits`` (memory in MiB)."""
    gpus = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 3:
            gpus.append(
                {
                    "name": parts[0],
                    "memory_bytes": int(float(parts[1]) * 1024**2),
                    "driver": parts[2],
                }
            )
    return gpus


def read_gpus() -> list[dict[str, Any]]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            [
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def software_versions() -> dict[str, str]:
    """Python and package versions, read from metadata without importing the packages."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def collect(root: Path = Path("/"), gpus: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The machine fingerprint, with a stable ``id`` over the fields that identify the machine."""
    cpu = parse_cpuinfo(_read(root / "proc/cpuinfo") or "")
    if not cpu["logical_cores"]:
        cpu["logical_cores"] = os.cpu_count() or 0
    uname = platform.uname()
    fp: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu_model": cpu["cpu_model"],
        "arch": uname.machine,
        "logical_cores": cpu["logical_cores"],
        "physical_cores": cpu["physical_cores"],
        "isa": cpu["isa"],
        "caches": read_caches(root),
        "memory_bytes": parse_meminfo(_read(root / "proc/meminfo") or ""),
        "os": f"{uname.system} {_os_release(root)}".strip(),
        "kernel": uname.release,
        "hypervisor": detect_hypervisor(root, cpu["hypervisor_flag"]),
        "gpus": read_gpus() if gpus is None else gpus,
        "python": sys.version.split()[0],
    }
    fp["id"] = machine_id(fp)
    return fp


def machine_id(fp: dict[str, Any]) -> str:
    identity = {
        k: fp.get(k)
        for k in ("hostname", "cpu_model", "arch", "logical_cores", "memory_bytes", "isa")
    }
    identity["gpus"] = [g.get("name") for g in fp.get("gpus") or []]
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _os_release(root: Path) -> str:
    text = _read(root / "etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""
