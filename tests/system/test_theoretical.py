"""The theoretical peak from the ISA, against cpuinfo fixtures of three kinds of x86 machine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cnnbench.system.theoretical import (
    machine_theoretical,
    parse_cpu_id,
    read_clock,
    theoretical_peaks,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CPU_MHZ = "/proc/cpuinfo 'cpu MHz'"


def _by_precision(root: Path) -> tuple[dict[str, float], dict[str, str], list[str]]:
    peaks, notes = machine_theoretical(root)
    return (
        {p.precision: p.value for p in peaks},
        {p.precision: p.to_dict()["method"] for p in peaks},
        notes,
    )


def test_sapphire_rapids_fixture_counts_avx512_fma_and_amx() -> None:
    values, methods, notes = _by_precision(FIXTURES / "xeon")
    # 2 physical cores (4 logical) x 2 units x 16 lanes x 2 FLOP x 2.0 GHz
    assert values["fp32"] == pytest.approx(2 * 2 * 16 * 2 * 2.0)
    assert values["bf16"] == pytest.approx(2 * 1024 * 2.0)  # AMX TMUL
    assert values["int8"] == pytest.approx(2 * 2048 * 2.0)
    assert notes == []
    assert methods["fp32"].startswith("estimated: 2 physical cores")
    assert CPU_MHZ in methods["fp32"] and "Sapphire" in methods["fp32"]


def test_epyc_avx512_fixture_zen5_full_width() -> None:
    values, methods, notes = _by_precision(FIXTURES / "epyc-avx512")
    mhz = 2596.096
    assert values["fp32"] == pytest.approx(2 * 2 * 16 * 2 * mhz / 1000)
    assert values["bf16"] == pytest.approx(2 * 2 * 16 * 4 * mhz / 1000)  # VDPBF16PS
    assert values["int8"] == pytest.approx(2 * 2 * 16 * 8 * mhz / 1000)  # VPDPBUSD
    assert "Zen 5" in methods["fp32"] and "family 26 model 2" in methods["fp32"]
    assert "512-bit" in methods["fp32"] and CPU_MHZ in methods["fp32"]
    assert notes == []


def test_epyc_avx2_fixture_one_smt_core_no_bf16_or_int8() -> None:
    values, methods, notes = _by_precision(FIXTURES / "epyc-avx2")
    # two logical CPUs on one core: one core x 2 units x 8 lanes x 2 FLOP x 2.25 GHz
    assert values == {"fp32": pytest.approx(1 * 2 * 8 * 2 * 2249.998 / 1000)}
    assert "1 physical core x" in methods["fp32"] and "Zen 2" in methods["fp32"]
    assert any("bf16" in n and "no native" in n for n in notes)
    assert any("int8" in n and "no native" in n for n in notes)


def test_zen4_avx512_runs_on_256_bit_units() -> None:
    text = (FIXTURES / "epyc-avx512/proc/cpuinfo").read_text()
    zen4 = parse_cpu_id(text.replace("cpu family\t: 26", "cpu family\t: 25").replace(
        "model\t\t: 2\n", "model\t\t: 17\n"
    ))  # fmt: skip
    assert (zen4.family, zen4.model) == (25, 17)
    peaks, _ = theoretical_peaks(zen4, read_clock(zen4, Path("/nonexistent")))
    fp32 = next(p for p in peaks if p.precision == "fp32")
    assert fp32.per_cycle_per_core == 32  # 2 units x 8 lanes x 2, not 64
    assert "a 512-bit FMA takes two" in fp32.method


def test_unknown_microarchitecture_gives_no_figure(tmp_path: Path) -> None:
    text = (FIXTURES / "xeon/proc/cpuinfo").read_text().replace("model\t\t: 143", "model\t\t: 151")
    cpu = parse_cpu_id(text)
    peaks, notes = theoretical_peaks(cpu, read_clock(cpu, tmp_path))
    assert peaks == []
    assert notes == [
        "theoretical peak: unknown (GenuineIntel family 6 model 151 is not in the FMA-unit table)"
    ]


def test_clock_sources_in_order(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / "proc").mkdir(parents=True)
    shutil.copy(FIXTURES / "epyc-avx2/proc/cpuinfo", root / "proc/cpuinfo")
    cpu = parse_cpu_id((root / "proc/cpuinfo").read_text())
    clock = read_clock(cpu, root)
    assert clock is not None and clock.mhz == pytest.approx(2249.998)
    assert clock.source.startswith(CPU_MHZ)

    named = parse_cpu_id(
        (root / "proc/cpuinfo").read_text().replace("AMD EPYC 7B12", "CPU @ 3.10GHz")
    )
    clock = read_clock(named, root)
    assert clock is not None and (clock.mhz, clock.source) == (3100, "base clock in the model name")

    cpufreq = root / "sys/devices/system/cpu/cpu0/cpufreq"
    cpufreq.mkdir(parents=True)
    (cpufreq / "cpuinfo_max_freq").write_text("3300000\n")
    clock = read_clock(named, root)
    assert clock is not None and (clock.mhz, clock.source) == (3300, "cpufreq cpuinfo_max_freq")
    peaks, _ = machine_theoretical(root)
    assert peaks[0].value == pytest.approx(1 * 32 * 3.3)


def test_no_clock_and_no_cpuinfo(tmp_path: Path) -> None:
    text = (FIXTURES / "epyc-avx2/proc/cpuinfo").read_text().replace("cpu MHz", "cpu kHz")
    cpu = parse_cpu_id(text)
    assert read_clock(cpu, tmp_path) is None
    assert theoretical_peaks(cpu, None)[0] == []
    peaks, notes = machine_theoretical(tmp_path)
    assert peaks == [] and "cannot read /proc/cpuinfo" in notes[0]
