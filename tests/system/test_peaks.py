"""Peaks: choosing among GEMM candidates (pure), and one real measurement on tiny sizes."""

from __future__ import annotations

import importlib.util

import pytest

from cnnbench.system import gemm
from cnnbench.system.gemm import Absent, Candidate
from cnnbench.system.peaks import (
    Peak,
    assemble,
    candidate_notes,
    choose_peaks,
    clock_notes,
    measure_peaks,
    native_precisions,
)


def _c(library: str, precision: str, size: int, gflops: float, threads: int = 2) -> Candidate:
    return Candidate(library, precision, size, threads, 2 * size**3 / gflops / 1e9, "k")


CANDIDATES = [
    _c("numpy.matmul", "fp32", 3072, 230),
    _c("torch.mm", "fp32", 2048, 200),
    _c("onnxruntime MatMul", "fp32", 1024, 400),
    _c("openvino MatMul", "fp32", 3072, 438),
    _c("openvino MatMul", "fp32", 1024, 390),
    _c("torch.mm", "bf16", 3072, 790),
    _c("openvino MatMul", "bf16", 1024, 820),
    _c("onnxruntime MatMulInteger", "int8", 1024, 1710),
]


def test_the_fastest_candidate_of_each_precision_is_the_peak() -> None:
    peaks = choose_peaks(CANDIDATES)
    assert [(p.kind, p.precision) for p in peaks] == [
        ("compute", "fp32"),
        ("compute", "bf16"),
        ("compute", "int8"),
    ]
    fp32, bf16, int8 = peaks
    assert fp32.value == pytest.approx(438)
    assert fp32.method == "openvino MatMul 3072x3072, 2 threads, k"  # library, size, threads
    assert bf16.value == pytest.approx(820) and bf16.method.startswith("openvino MatMul 1024")
    assert int8.unit == "GOP/s" and int8.method.startswith("onnxruntime MatMulInteger")
    assert choose_peaks([]) == []


def test_candidate_notes_rank_libraries_and_name_slow_paths() -> None:
    notes = candidate_notes(CANDIDATES)
    assert notes[0] == (
        "fp32 candidates (best size, G/s): openvino MatMul 3072 438, onnxruntime MatMul 1024 400,"
        " numpy.matmul 3072 230, torch.mm 2048 200"
    )
    slow = [n for n in notes if "slower kernel" in n]
    assert [n.split(" reaches")[0] for n in slow] == ["numpy.matmul fp32", "torch.mm fp32"]
    # tiny products are dominated by call overheads: no verdict on them
    tiny = [_c("a", "fp32", 64, 100), _c("b", "fp32", 64, 10)]
    assert not any("slower kernel" in n for n in candidate_notes(tiny))


def test_clock_notes_when_a_measure_beats_the_estimate() -> None:
    measured = choose_peaks(CANDIDATES)
    estimate = Peak(
        "theoretical", "fp32", 332.3, "GFLOP/s", 2, "estimated: ... = 64/cycle/core x 2596 MHz"
    )
    (note,) = clock_notes(measured, [estimate])
    assert "438 GFLOP/s exceeds the theoretical 332" in note
    assert f">= {438 / 2 / 64:.2f} GHz" in note  # 3.42 GHz on each of 2 cores
    assert clock_notes(measured, [Peak("theoretical", "fp32", 500, "GFLOP/s", 2, "e")]) == []


def test_assemble_keeps_memory_and_theoretical_and_drops_stray_compute() -> None:
    memory = Peak("memory", "-", 69.0, "GB/s", 2, "torch copy_ of 512 MiB")
    theory = Peak("theoretical", "fp32", 332.3, "GFLOP/s", 2, "estimated: = 64/cycle/core")
    stray = Peak("compute", "fp32", 1.0, "GFLOP/s", 1, "from one worker")
    peaks, notes = assemble(CANDIDATES, [memory, theory, stray], ["torch: measured"])
    assert [p.kind for p in peaks] == ["compute"] * 3 + ["memory", "theoretical"]
    assert peaks[0].value == pytest.approx(438)
    assert notes[0] == "torch: measured" and any("exceeds the theoretical" in n for n in notes)


def test_native_precisions_from_flags() -> None:
    assert native_precisions({"avx2", "fma"}) == ("fp32",)
    assert native_precisions({"avx512f", "avx512_vnni"}) == ("fp32", "int8")
    assert native_precisions({"avx512_bf16", "avx512_vnni"}) == ("fp32", "bf16", "int8")
    assert native_precisions({"amx_bf16", "amx_int8"}) == ("fp32", "bf16", "int8")


INSTALLED = [lib for lib in gemm.LIBRARIES if importlib.util.find_spec(lib) is not None]
NAMES = {
    "torch": "torch.mm",
    "numpy": "numpy.matmul",
    "onnxruntime": "onnxruntime MatMul",
    "openvino": "openvino MatMul",
}


def test_real_measurement_on_tiny_sizes_has_every_installed_library() -> None:
    result = measure_peaks({"sizes": [64, 128], "copy_bytes": 8 * 2**20})
    candidates = [Candidate.from_json(c) for c in result["candidates"]]
    fp32 = {c.library for c in candidates if c.precision == "fp32"}
    for lib in INSTALLED:
        if lib in ("onnxruntime", "openvino") and importlib.util.find_spec("onnx") is None:
            continue  # the one-node graph needs onnx
        assert NAMES[lib] in fp32, result["notes"]
    assert all(c.gflops > 0 and c.threads >= 1 for c in candidates)
    kinds = {(p["kind"], p["precision"]) for p in result["peaks"]}
    assert ("compute", "fp32") in kinds and ("memory", "-") in kinds
    assert all(p["value"] > 0 for p in result["peaks"])
    # bf16 and int8 are measured only with native instructions, and then by some library
    for precision in native_precisions(_flags()):
        assert ("compute", precision) in kinds, result["notes"]


def _flags() -> frozenset[str]:
    from pathlib import Path

    from cnnbench.system.theoretical import parse_cpu_id

    return parse_cpu_id(Path("/proc/cpuinfo").read_text()).flags


def test_an_absent_library_is_skipped_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(*_: object) -> gemm.Outcome:
        raise Absent("openvino is not installed (test)")

    monkeypatch.setattr(gemm, "openvino_matmul", absent)
    result = measure_peaks({"parts": ["openvino", "numpy"], "sizes": [64]})
    assert "openvino: not measured, openvino is not installed (test)" in result["notes"]
    assert {c["library"] for c in result["candidates"]} == {"numpy.matmul"}


def test_busy_cpu_time_and_the_load_note() -> None:
    from cnnbench.system.peaks import cpu_busy_seconds, load_note

    stat = "cpu  300 5 60 500 6 1 4 30 0 0\ncpu0 150 0 30 250 3 0 2 15 0 0\n"
    assert cpu_busy_seconds(stat, 100) == pytest.approx((300 + 5 + 60 + 1 + 4 + 30) / 100)
    with pytest.raises(ValueError):
        cpu_busy_seconds("intr 1 2 3\n", 100)
    # 20 s on 2 CPUs: 38 busy seconds of which 30 ours leaves 8 s = 20 % to others
    note = load_note(busy_s=38, own_s=30, wall_s=20, cpus=2)
    assert note is not None and note.startswith("other work took 20% of the 2 CPUs")
    assert load_note(busy_s=31, own_s=30, wall_s=20, cpus=2) is None


def test_a_convolution_candidate_counts_its_own_work() -> None:
    from cnnbench.system.gemm import Candidate, conv_flops

    # 3x3, 256 -> 256 channels, 28x28, batch 4: 2 x 4 x 256 x 256 x 9 x 28 x 28 = 3.70 GFLOP
    assert conv_flops() == 2 * 4 * 256 * 256 * 9 * 28 * 28
    c = Candidate("openvino Convolution", "fp32", 256, 2, 0.01, "brgconv", conv_flops())
    assert c.gflops == pytest.approx(conv_flops() / 0.01 / 1e9)
    assert "conv3x3 256->256 ch" in c.describe()
    assert Candidate.from_json(c.to_json()) == c
    square = Candidate("torch.mm", "fp32", 1024, 2, 0.01)
    assert square.gflops == pytest.approx(2 * 1024**3 / 0.01 / 1e9)
