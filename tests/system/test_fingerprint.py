"""Machine fingerprint and probe readers against fixture trees in the kernel's own formats."""

from __future__ import annotations

from pathlib import Path

from cnnbench.measure.probes.status import perf_status, rapl_status
from cnnbench.system.fingerprint import collect, machine_id, parse_nvidia_smi

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
XEON = FIXTURES / "xeon"


def test_xeon_fixture_fingerprint() -> None:
    fp = collect(XEON, gpus=[])
    assert fp["cpu_model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert fp["logical_cores"] == 4
    assert fp["physical_cores"] == 2  # two (physical id, core id) pairs, hyper-threaded
    for flag in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"):
        assert flag in fp["isa"]
    assert fp["memory_bytes"] == 527993588 * 1024
    assert [(c["level"], c["type"], c["size_bytes"]) for c in fp["caches"]] == [
        (1, "data", 48 * 1024),
        (1, "instruction", 32 * 1024),
        (2, "unified", 2048 * 1024),
        (3, "unified", 107520 * 1024),
    ]
    assert fp["caches"][3]["shared_cpu_list"] == "0-3"
    assert fp["hypervisor"] == "KVM"
    assert "Ubuntu 22.04.4 LTS" in fp["os"]
    assert fp["id"] == machine_id(fp)


def test_machine_id_depends_on_identity_only() -> None:
    fp = collect(XEON, gpus=[])
    other = dict(fp, kernel="9.9.9", caches=[])
    assert machine_id(other) == fp["id"]
    assert machine_id(dict(fp, logical_cores=8)) != fp["id"]


def test_this_machine_fingerprint_is_complete() -> None:
    fp = collect()
    assert fp["logical_cores"] >= 1
    assert fp["cpu_model"]
    assert fp["memory_bytes"] and fp["memory_bytes"] > 2**28


def test_nvidia_smi_csv() -> None:
    gpus = parse_nvidia_smi((FIXTURES / "nvidia-smi-gpus.csv").read_text())
    assert len(gpus) == 2
    assert gpus[0] == {
        "name": "NVIDIA H100 80GB HBM3",
        "memory_bytes": 81559 * 1024**2,
        "driver": "550.54.15",
    }


def test_rapl_probe_on_fixture_and_absent() -> None:
    ok = rapl_status(FIXTURES / "rapl")
    assert ok.available and "intel-rapl:0" in ok.detail
    missing = rapl_status(XEON)
    assert not missing.available and "powercap" in missing.detail


def test_perf_probe_on_fixture() -> None:
    assert perf_status(XEON).available
    assert not perf_status(FIXTURES / "rapl").available
