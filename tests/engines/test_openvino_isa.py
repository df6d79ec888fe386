"""OpenVINO ISA caps: the pure check on fixture kernel lists of both CPU kinds (an AVX-512
machine and an AVX2-only one), and the real engine in a capped worker, asserting what is right
for the CPU this runs on."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from cnnbench.engines.openvino.inspect import (
    ISA_CAPPED_LAYERS,
    RuntimeNode,
    check_isa_nodes,
    check_runtime_precision,
)
from cnnbench.errors import Unsupported
from cnnbench.system.fingerprint import parse_cpuinfo
from cnnbench.system.isa import cap_rank, kernel_isa

FIXTURE = Path(__file__).parent / "fixtures" / "openvino_tinynet_kernels.json"
CASES: dict[str, Any] = json.loads(FIXTURE.read_text())["cases"]


def _nodes(case: str) -> list[RuntimeNode]:
    return [RuntimeNode(n["node"], n["type"], n["kernel"]) for n in CASES[case]["nodes"]]


def _above(nodes: list[RuntimeNode], isa: str) -> list[RuntimeNode]:
    return [n for n in nodes if (kernel_isa(n.kernel) or ("", 0))[1] > cap_rank(isa)]


def test_kernel_isa_names() -> None:
    assert kernel_isa("brgconv_avx2_1x1_f32") == ("avx2", 3)
    assert kernel_isa("jit_sse42_dw_f32") == ("sse41", 1)
    assert kernel_isa("brgconv_avx512_amx_1x1_bf16") == ("amx", 8)
    assert kernel_isa("jit_avx512_1x1_f32") == ("avx512", 5)
    assert kernel_isa("gemm_mlas_f32") is None and kernel_isa("jit_uni_f32") is None


def test_runtime_precision_check() -> None:
    check_runtime_precision("int8", {"int8": 3, "fp32": 1})
    with pytest.raises(Unsupported, match="fp32 requested, but the runtime model runs mixed"):
        check_runtime_precision("fp32", {"bf16": 3, "fp32": 1})
    with pytest.raises(Unsupported, match="bf16 requested, but the runtime model runs fp32"):
        check_runtime_precision("bf16", {"fp32": 4})
    check_runtime_precision("fp32", {})  # no compute node (a ReLU alone): nothing reduced
    with pytest.raises(Unsupported, match="cannot verify precision"):
        check_runtime_precision("bf16", {})


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("isa", ["sse41", "avx2", "avx512"])
def test_the_contract_on_every_fixture(case: str, isa: str) -> None:
    """Refused exactly when a compute node is above the cap; otherwise every other node above
    the cap is an exception, and nothing else is."""
    nodes = _nodes(case)
    above = _above(nodes, isa)
    refused = [n for n in above if n.type in ISA_CAPPED_LAYERS]
    if refused:
        with pytest.raises(Unsupported, match="not honoured by compute kernels") as err:
            check_isa_nodes(isa, nodes)
        assert all(f"{n.name} ({n.type}, {n.kernel})" in str(err.value) for n in refused)
        return
    result = check_isa_nodes(isa, nodes)
    assert list(result.exceptions) == above
    assert (
        result.isa_seen
        == max((s for s in (kernel_isa(n.kernel) for n in nodes) if s), key=lambda s: s[1])[0]
    )


def test_avx512_machine() -> None:
    # Uncapped, it runs AVX-512 convolutions and pooling: an AVX2 cap is refused with them.
    with pytest.raises(Unsupported) as err:
        check_isa_nodes("avx2", _nodes("avx512_machine/uncapped"))
    assert "/0/Conv/WithoutBiases (Convolution, brgconv_avx512_f32)" in str(err.value)
    assert "/3/MaxPool (Pooling, jit_avx512_f32)" in str(err.value)
    assert check_isa_nodes("avx512", _nodes("avx512_machine/uncapped")).isa_seen == "avx512"
    # oneDNN's cap alone (issue 9): the compute nodes are capped, OpenVINO's own Reduce is not.
    # Allowed, and named for the record.
    result = check_isa_nodes("avx2", _nodes("avx512_machine/avx2_onednn_only"))
    assert [n.to_dict() for n in result.exceptions] == [
        {"node": "/10/GlobalAveragePool", "type": "Reduce", "kernel": "jit_avx512_f32"}
    ]
    # Both caps: nothing above AVX2 is left.
    result = check_isa_nodes("avx2", _nodes("avx512_machine/avx2"))
    assert result.exceptions == () and result.isa_seen == "avx2"
    result = check_isa_nodes("sse41", _nodes("avx512_machine/sse41"))
    assert result.exceptions == () and result.isa_seen == "sse41"


def test_avx2_machine() -> None:
    nodes = _nodes("avx2_machine/uncapped")
    for isa in ("avx2", "avx512"):  # a cap at or above the machine changes nothing
        result = check_isa_nodes(isa, nodes)
        assert result.exceptions == () and result.isa_seen == "avx2"
    with pytest.raises(Unsupported, match="Convolution, brgconv_avx2"):
        check_isa_nodes("sse41", nodes)
    result = check_isa_nodes("sse41", _nodes("avx2_machine/sse41_onednn_only"))
    assert [(n.type, n.kernel) for n in result.exceptions] == [("Reduce", "jit_avx2_f32")]


@pytest.mark.parametrize(
    ("kind", "kernel"),
    [
        ("Pooling", "jit_avx512_f32"),
        ("Eltwise", "jit_avx512_f32"),
        ("Subgraph", "jit_avx512_f32"),
        ("FullyConnected", "brgemm_avx512_f32"),
        ("MatMul", "brgemm_avx512_f32"),
        ("GroupConvolution", "jit_avx512_dw_f32"),
    ],
)
def test_every_compute_kind_is_held_to_the_cap(kind: str, kernel: str) -> None:
    nodes = [*_nodes("avx512_machine/avx2"), RuntimeNode("n", kind, kernel)]
    with pytest.raises(Unsupported, match=f"n \\({kind}, {kernel}\\)"):
        check_isa_nodes("avx2", nodes)
    other = [*_nodes("avx512_machine/avx2"), RuntimeNode("n", "Interpolate", kernel)]
    assert check_isa_nodes("avx2", other).exceptions == (RuntimeNode("n", "Interpolate", kernel),)


# -- the real engine in a capped worker, for the CPU this runs on ------------------------------

needs_openvino = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="openvino is not installed"
)


def _cpu_flags() -> list[str]:
    return list(parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))["isa"])


def _worker(isa: str | None) -> Any:
    from cnnbench.measure.isolation import run_worker

    return run_worker(
        "engines.openvino_entries:prepare_tinynet", {"isa": isa}, timeout_s=120, isa=isa
    )


def _check_capped_run(isa: str) -> dict[str, Any]:
    outcome = _worker(isa)
    assert outcome.status == "ok", (outcome.error, outcome.stderr_tail)
    result = outcome.result
    eff = result["effective"]
    want = {"sse41": "SSE41", "avx2": "AVX2"}[isa]
    assert result["env"] == {"ONEDNN_MAX_CPU_ISA": want, "OV_CPU_MAX_ISA": want}
    assert eff["isa_cap"] == isa and eff["ov_cpu_max_isa"] == want
    assert eff["precision"] == "fp32"
    nodes = [RuntimeNode(n["node"], n["type"], n["kernel"]) for n in result["nodes"]]
    # Every compute node that names an ISA is at or below the cap; the convolutions do name it.
    capped = [n for n in nodes if n.type in ISA_CAPPED_LAYERS and kernel_isa(n.kernel)]
    assert any(n.type == "Convolution" for n in capped), nodes
    assert all(kernel_isa(n.kernel)[1] <= cap_rank(isa) for n in capped), nodes
    # What stayed above is exactly what the record names as exceptions.
    assert eff["isa_exceptions"] == [n.to_dict() for n in _above(nodes, isa)]
    assert all(e["type"] not in ISA_CAPPED_LAYERS for e in eff["isa_exceptions"])
    return eff


@needs_openvino
def test_isa_cap_avx2_in_a_worker() -> None:
    flags = _cpu_flags()
    if any(f not in flags for f in ("avx2", "fma")):
        pytest.skip("this CPU lacks AVX2")
    eff = _check_capped_run("avx2")
    assert eff["isa_seen"] in ("avx2", "avx512")  # avx512 only from an exception's kernel
    uncapped = _worker(None)
    assert uncapped.status == "ok", uncapped.error
    seen = uncapped.result["effective"]["isa_seen"]
    if "avx512f" in flags:
        # An AVX-512 CPU: uncapped it runs AVX-512 kernels, so the cap really bit.
        assert seen == "avx512"
    else:
        # An AVX2-only CPU: the cap is the machine's own level and changes no kernel.
        assert seen == "avx2"
        assert uncapped.result["nodes"] == _worker("avx2").result["nodes"]


@needs_openvino
def test_isa_cap_sse41_in_a_worker() -> None:
    """Below the machine's level the cap visibly bites on the convolutions."""
    if "sse4_2" not in _cpu_flags():
        pytest.skip("this CPU lacks SSE4.2")
    eff = _check_capped_run("sse41")
    assert all("sse42" in k for k in eff["kernels"] if kernel_isa(k)), eff["kernels"]
