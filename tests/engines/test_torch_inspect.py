"""PyTorch's oneDNN kernels read back from verbose lines: parsing, and the ISA cap check.

The fixtures are oneDNN's own output, so both CPU kinds are covered on either: an AVX-512 machine
(format v1, oneDNN 3.12, captured here), the same oneDNN capped at AVX2 (captured here with
``ONEDNN_MAX_CPU_ISA=AVX2``: what an AVX2-only machine prints) and the older format of oneDNN 2.x
on an AVX2 machine (written from that format's documentation, not captured: no such machine
was at hand).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnbench.engines.torch.inspect import (
    Primitive,
    check_trace,
    exceptions_json,
    parse_verbose,
)
from cnnbench.errors import Unsupported

FIXTURES = Path(__file__).parent / "fixtures"


def _trace(name: str):  # type: ignore[no-untyped-def]
    return parse_verbose((FIXTURES / name).read_text())


def test_parse_v1_format() -> None:
    trace = _trace("onednn_verbose_avx512.txt")
    assert trace.isa == "Intel AVX-512 with Intel DL Boost and bfloat16 support"
    assert trace.primitives[1] == Primitive("convolution", "jit:avx512_core")
    assert trace.kernel_counts() == {
        "convolution:jit:avx512_core": 1,
        "convolution:jit_1x1:avx512_core": 1,
        "eltwise:jit:avx512_core": 1,
        "reorder:jit:blk": 1,
        "reorder:jit:uni": 1,
    }


def test_parse_older_format() -> None:
    trace = _trace("onednn_verbose_avx2_old.txt")
    assert trace.isa == "Intel AVX2"
    assert [p.kind for p in trace.primitives] == ["convolution", "pooling"]


def test_a_capped_capture_holds_under_its_cap() -> None:
    trace = _trace("onednn_verbose_avx2_cap.txt")
    assert trace.isa == "Intel AVX2"
    assert {p.impl for p in trace.primitives if p.kind == "convolution"} == {
        "jit:avx2",
        "jit_1x1:avx2",
    }
    assert check_trace(trace, "avx2") == []
    with pytest.raises(Unsupported, match="sse41"):
        check_trace(trace, "sse41")


def test_avx512_kernels_under_an_avx2_cap_are_refused() -> None:
    with pytest.raises(Unsupported, match=r"convolution:jit:avx512_core"):
        check_trace(_trace("onednn_verbose_avx512.txt"), "avx2")


def test_avx2_kernels_hold_under_avx2_and_avx512_caps() -> None:
    trace = _trace("onednn_verbose_avx2_old.txt")
    assert check_trace(trace, "avx2") == []
    assert check_trace(trace, "avx512") == []


def test_other_kinds_above_the_cap_are_exceptions_not_refusals() -> None:
    trace = parse_verbose(
        "onednn_verbose,v1,primitive,exec,cpu,convolution,jit:avx2,forward_inference\n"
        "onednn_verbose,v1,primitive,exec,cpu,eltwise,jit:avx512_core,forward_inference\n"
    )
    above = check_trace(trace, "avx2")
    assert above == [Primitive("eltwise", "jit:avx512_core")]
    assert exceptions_json(above) == [
        {"node": "onednn eltwise", "type": "eltwise", "kernel": "jit:avx512_core"}
    ]
