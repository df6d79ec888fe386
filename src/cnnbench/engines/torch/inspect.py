"""What PyTorch's CPU kernels really ran: oneDNN's verbose lines for one call, read back.

ATen's own vectorised kernels report their level (``torch.backends.cpu.get_cpu_capability``);
convolutions, linear layers and pooling on the CPU run in oneDNN, whose cap
(``ONEDNN_MAX_CPU_ISA``) is only an environment variable. To verify it, one call is made with
oneDNN's verbose mode on: oneDNN then prints a line per executed primitive, e.g.
``onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core,...``, and a header
``onednn_verbose,v1,info,cpu,isa:Intel AVX2``. oneDNN writes them with C ``printf`` to file
descriptor 1, so the call runs with fd 1 redirected into a temporary file (C buffers flushed
before and after); nothing reaches the real stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cnnbench.errors import Unsupported
from cnnbench.system.isa import cap_rank, kernel_isa

VERBOSE_PREFIX = "onednn_verbose"
# Primitives that do a network's arithmetic: each must run at or below an ISA cap.
COMPUTE_PRIMITIVES = ("convolution", "deconvolution", "inner_product", "matmul", "pooling")
# Kinds named in isa_exceptions when above the cap (allowed unless the run is strict).
OTHER_PRIMITIVES = ("eltwise", "binary", "batch_normalization", "softmax", "sum", "concat")


@dataclass(frozen=True)
class Primitive:
    """One executed oneDNN primitive: its kind and implementation name (``jit:avx2``)."""

    kind: str
    impl: str


@dataclass(frozen=True)
class OneDnnTrace:
    """What one verbose call showed: oneDNN's ISA header and the primitives it executed."""

    isa: str | None  # "Intel AVX2", "Intel AVX-512 with ... " as oneDNN words it
    primitives: tuple[Primitive, ...]

    def kernel_counts(self) -> dict[str, int]:
        counts = Counter(f"{p.kind}:{p.impl}" for p in self.primitives)
        return dict(sorted(counts.items()))


def parse_verbose(text: str) -> OneDnnTrace:
    """oneDNN verbose output (format v1, and the older one without the ``v1`` field)."""
    isa = None
    primitives = []
    for line in text.splitlines():
        if not line.startswith(VERBOSE_PREFIX):
            continue
        fields = line.split(",")
        if len(fields) > 1 and fields[1] == "v1":
            fields = [fields[0], *fields[2:]]
        if len(fields) >= 4 and fields[1] == "info" and fields[2] == "cpu":
            if fields[3].startswith("isa:"):
                isa = fields[3][4:].strip()
        elif len(fields) >= 6 and fields[1:3] == ["primitive", "exec"] and fields[3] == "cpu":
            primitives.append(Primitive(fields[4], fields[5]))
        elif len(fields) >= 5 and fields[1] == "exec" and fields[2] == "cpu":  # older format
            primitives.append(Primitive(fields[3], fields[4]))
    return OneDnnTrace(isa, tuple(primitives))


def check_trace(trace: OneDnnTrace, isa: str) -> list[Primitive]:
    """Refuse a compute primitive above the cap (``Unsupported``); return the primitives of
    other kinds above it (the record names them as ``isa_exceptions``)."""
    allowed = cap_rank(isa)
    above = [p for p in trace.primitives if (kernel_isa(p.impl) or ("", 0))[1] > allowed]
    compute = sorted({f"{p.kind}:{p.impl}" for p in above if p.kind in COMPUTE_PRIMITIVES})
    if compute:
        raise Unsupported(f"torch: ISA cap {isa} not honoured by oneDNN: {', '.join(compute)}")
    return above


def exceptions_json(above: Sequence[Primitive]) -> list[dict[str, str]]:
    """``effective.isa_exceptions`` entries (node, type, kernel), one per primitive kind/impl."""
    seen = sorted({(p.kind, p.impl) for p in above})
    return [{"node": f"onednn {kind}", "type": kind, "kernel": impl} for kind, impl in seen]


def trace_call(torch: Any, call: Callable[[], object]) -> OneDnnTrace:
    """Make one call with oneDNN verbose on; parse what it printed."""
    with _captured_fd1() as read:
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            call()
        text = read()
    return parse_verbose(text)


@contextlib.contextmanager
def _captured_fd1() -> Iterator[Callable[[], str]]:
    """Redirect file descriptor 1 (C and Python) into a temporary file for the block."""
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)

        def read() -> str:
            libc.fflush(None)
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            yield read
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
