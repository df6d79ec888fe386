"""Timed square matrix products (GEMM) of every installed library, the candidates for a peak.

One function per library, each at the thread count that library (and so the engine built on
it) uses by default, each returning :class:`Candidate` figures for the precisions it can run:

- ``torch.mm`` (MKL or oneDNN): fp32, bf16
- ``numpy.matmul`` (the BLAS NumPy links): fp32
- ``onnxruntime MatMul`` (a one-node ONNX graph, CPUExecutionProvider, MLAS): fp32, and int8
  as ``MatMulInteger`` (u8 x s8 -> int32)
- ``openvino MatMul`` (the same graph compiled by the CPU plugin with
  ``INFERENCE_PRECISION_HINT`` set explicitly): fp32, bf16, and int8 as a QDQ MatMul that the
  plugin runs as an int8 kernel; the runtime precision and primitive are read back, and a
  product that did not run in the asked precision is no candidate for it

A library that is not installed raises :class:`Absent`; one that fails on a precision gives a
note instead of a figure. The B operand is a constant (an initializer), as weights are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

REPEATS = 5
MAX_CALL_S = 0.5  # a product slower than this stops the growth in size (emulated precision)
LIBRARIES = ("torch", "numpy", "onnxruntime", "openvino")


class Absent(Exception):
    """The library is not installed."""


@dataclass(frozen=True)
class Candidate:
    library: str  # e.g. "openvino MatMul"
    precision: str
    size: int  # n of an n x n x n product
    threads: int
    seconds: float  # best of the repeats
    detail: str = ""  # what ran (kernel, BLAS build), where it can be read back
    flops: float | None = None  # per call, where the call is not an n x n x n product

    @property
    def gflops(self) -> float:
        """GFLOP/s (GOP/s for int8): 2 x n^3 per product, or ``flops`` per call."""
        work = self.flops if self.flops is not None else 2 * self.size**3
        return work / self.seconds / 1e9

    def describe(self) -> str:
        extra = f", {self.detail}" if self.detail else ""
        shape = CONV_SHAPE_TEXT.format(c=self.size) if self.flops else f"{self.size}x{self.size}"
        return f"{self.library} {shape}, {self.threads} threads{extra}"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Candidate:
        return cls(
            str(d["library"]),
            str(d["precision"]),
            int(d["size"]),
            int(d["threads"]),
            float(d["seconds"]),
            str(d.get("detail", "")),
            float(d["flops"]) if d.get("flops") is not None else None,
        )


@dataclass(frozen=True)
class Outcome:
    candidates: tuple[Candidate, ...]
    notes: tuple[str, ...]


def best_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best of ``repeats`` timed calls after one warm-up (allocation, packing, kernel choice)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _sweep(
    library: str,
    precision: str,
    sizes: Sequence[int],
    threads: int,
    make: Callable[[int], tuple[Callable[[], object], str]],
) -> list[Candidate]:
    """Time ``make(n)``'s call at growing sizes; stop growing after one slower than 0.5 s."""
    out = []
    for n in sorted(sizes):
        call, detail = make(n)
        seconds = best_seconds(call)
        out.append(Candidate(library, precision, n, threads, seconds, detail))
        if seconds > MAX_CALL_S:
            break
    return out


def _try(
    notes: list[str], library: str, precision: str, fn: Callable[[], list[Candidate]]
) -> list[Candidate]:
    try:
        return fn()
    except Exception as exc:  # one precision failing must not lose the others
        notes.append(f"{library} {precision}: no figure ({type(exc).__name__}: {exc!s:.160})")
        return []


def _import(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Absent(f"{name} is not installed ({exc})") from None


def torch_mm(sizes: Sequence[int], precisions: Sequence[str]) -> Outcome:
    torch = _import("torch")
    threads = torch.get_num_threads()
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    notes: list[str] = []
    out: list[Candidate] = []
    for precision in (p for p in precisions if p in dtypes):
        dtype = dtypes[precision]

        def make(n: int, dtype: Any = dtype) -> tuple[Callable[[], object], str]:
            a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
            c = torch.empty(n, n, dtype=dtype)
            return (lambda: torch.mm(a, b, out=c)), ""

        out += _try(
            notes,
            "torch.mm",
            precision,
            partial(_sweep, "torch.mm", precision, sizes, threads, make),
        )
    return Outcome(tuple(out), tuple(notes))


def _blas_info() -> tuple[int | None, str]:
    """NumPy's BLAS thread count and build (threadpoolctl, where installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None, ""
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            arch = lib.get("architecture")
            name = f"{lib.get('internal_api')} {lib.get('version') or ''}".strip()
            return lib.get("num_threads"), name + (f" {arch} kernels" if arch else "")
    return None, ""


def numpy_matmul(sizes: Sequence[int], precisions: Sequence[str]) -> Outcome:
    import os

    np = _import("numpy")
    threads, detail = _blas_info()
    if threads is None:
        threads = len(os.sched_getaffinity(0))
        detail = (detail + ", " if detail else "") + "threads assumed: one per allowed CPU"
    if "fp32" not in precisions:
        return Outcome((), ())

    def make(n: int) -> tuple[Callable[[], object], str]:
        x = np.random.default_rng(0).random((n, n), dtype=np.float32)
        y = np.empty_like(x)
        return (lambda: np.matmul(x, x, out=y)), detail

    notes: list[str] = []
    sweep = partial(_sweep, "numpy.matmul", "fp32", sizes, threads, make)
    out = _try(notes, "numpy.matmul", "fp32", sweep)
    return Outcome(tuple(out), tuple(notes))


def _onnx_product(n: int, precision: str) -> tuple[bytes, Any]:
    """A one-node product graph (fp32 MatMul, or int8 MatMulInteger / QDQ MatMul) and its input.

    ``precision`` "int8" builds MatMulInteger (u8 input, s8 constant) for ONNX Runtime;
    "qdq" builds Quantize/Dequantize around an fp32 MatMul, which OpenVINO runs in int8.
    """
    np = _import("numpy")
    onnx = _import("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = []
    if precision == "int8":
        nodes = [helper.make_node("MatMulInteger", ["A", "B"], ["C"])]
        a_type, c_type = TensorProto.UINT8, TensorProto.INT32
        inits.append(numpy_helper.from_array(rng.integers(-127, 127, (n, n), dtype=np.int8), "B"))
        x = rng.integers(0, 255, (n, n), dtype=np.uint8)
    elif precision == "qdq":
        nodes = [
            helper.make_node("QuantizeLinear", ["A", "sa", "za"], ["Aq"]),
            helper.make_node("DequantizeLinear", ["Aq", "sa", "za"], ["Ad"]),
            helper.make_node("DequantizeLinear", ["Bq", "sb", "zb"], ["Bd"]),
            helper.make_node("MatMul", ["Ad", "Bd"], ["C"]),
        ]
        a_type = c_type = TensorProto.FLOAT
        inits += [
            numpy_helper.from_array(np.array(1 / 128, np.float32), "sa"),
            numpy_helper.from_array(np.array(128, np.uint8), "za"),
            numpy_helper.from_array(np.array(1 / 128, np.float32), "sb"),
            numpy_helper.from_array(np.array(0, np.int8), "zb"),
            numpy_helper.from_array(rng.integers(-127, 127, (n, n), dtype=np.int8), "Bq"),
        ]
        x = rng.random((n, n), dtype=np.float32)
    else:
        nodes = [helper.make_node("MatMul", ["A", "B"], ["C"])]
        a_type = c_type = TensorProto.FLOAT
        inits.append(numpy_helper.from_array(rng.random((n, n), dtype=np.float32), "B"))
        x = rng.random((n, n), dtype=np.float32)
    graph = helper.make_graph(
        nodes,
        "product",
        [helper.make_tensor_value_info("A", a_type, [n, n])],
        [helper.make_tensor_value_info("C", c_type, [n, n])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString(), x


# A convolution as engines run them in CNNs (3x3, stride 1, C -> C channels, batch 4, 28x28): the
# engines' direct convolution kernels can beat their own GEMM, so the peak takes the best of both.
CONV_CHANNELS = 256
CONV_BATCH = 4
CONV_HW = 28
CONV_SHAPE_TEXT = "conv3x3 {c}->{c} ch, 28x28, batch 4"


def conv_flops(channels: int = CONV_CHANNELS) -> float:
    """2 x MACs of the probe convolution."""
    return 2.0 * CONV_BATCH * channels * channels * 9 * CONV_HW * CONV_HW


def _onnx_conv(channels: int = CONV_CHANNELS) -> tuple[bytes, Any]:
    """A one-node 3x3 Conv graph (fp32 weights, padding 1) and its input."""
    np = _import("numpy")
    onnx = _import("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = rng.standard_normal((channels, channels, 3, 3), dtype=np.float32) * 0.05
    shape = [CONV_BATCH, channels, CONV_HW, CONV_HW]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["A", "W"], ["C"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("C", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(weights, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString(), rng.standard_normal(shape, dtype=np.float32)


def _conv_candidate(
    library: str, precision: str, threads: int, call: Callable[[], object], detail: str
) -> Candidate:
    seconds = best_seconds(call)
    return Candidate(library, precision, CONV_CHANNELS, threads, seconds, detail, conv_flops())


def onnxruntime_matmul(sizes: Sequence[int], precisions: Sequence[str], threads: int) -> Outcome:
    """``threads``: the pool ORT makes by default (one per physical core), set explicitly so the
    figure can name it."""
    ort = _import("onnxruntime")
    _import("onnx")
    notes: list[str] = []
    out: list[Candidate] = []
    names = {"fp32": "onnxruntime MatMul", "int8": "onnxruntime MatMulInteger"}
    for precision in (p for p in precisions if p in names):

        def make(n: int, precision: str = precision) -> tuple[Callable[[], object], str]:
            model, x = _onnx_product(n, precision)
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
            return (lambda: sess.run(None, {"A": x})), "CPUExecutionProvider (MLAS)"

        library = names[precision]
        out += _try(
            notes, library, precision, partial(_sweep, library, precision, sizes, threads, make)
        )
    if "fp32" in precisions:

        def conv() -> list[Candidate]:
            model, x = _onnx_conv()
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
            call = partial(sess.run, None, {"A": x})
            detail = "CPUExecutionProvider (MLAS)"
            return [_conv_candidate("onnxruntime Conv", "fp32", threads, call, detail)]

        out += _try(notes, "onnxruntime Conv", "fp32", conv)
    return Outcome(tuple(out), tuple(notes))


# cnnbench precision -> (INFERENCE_PRECISION_HINT, graph, runtime precisions that count)
_OV_PRECISIONS = {
    "fp32": ("f32", "fp32", ("f32", "fp32")),
    "bf16": ("bf16", "fp32", ("bf16",)),
    "int8": ("f32", "qdq", ("u8", "i8")),
}


def _ov_product_node(compiled: Any) -> tuple[str, str]:
    """(runtime precision, primitive) of the product node of a compiled one-product graph."""
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        kind = rt["layerType"].astype(str) if "layerType" in rt else ""
        if kind in ("MatMul", "FullyConnected", "Gemm"):
            precision = rt["runtimePrecision"].astype(str) if "runtimePrecision" in rt else ""
            primitive = rt["primitiveType"].astype(str) if "primitiveType" in rt else ""
            return precision.lower(), f"{kind} {primitive}"
    return "", "no product node in the runtime graph"


def openvino_matmul(sizes: Sequence[int], precisions: Sequence[str]) -> Outcome:
    ov = _import("openvino")
    _import("onnx")
    core = ov.Core()
    caps = set(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    notes: list[str] = []
    out: list[Candidate] = []
    threads_seen: list[int] = []  # the plugin's thread count, known once a model is compiled
    for precision in (p for p in precisions if p in _OV_PRECISIONS):
        if precision in ("bf16", "int8") and precision.upper() not in caps:
            notes.append(f"openvino {precision}: not in the CPU plugin's capabilities")
            continue
        hint, graph, accepted = _OV_PRECISIONS[precision]

        def make(
            n: int, hint: str = hint, graph: str = graph, accepted: tuple[str, ...] = accepted
        ) -> tuple[Callable[[], object], str]:
            model, x = _onnx_product(n, graph)
            config = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
            compiled = core.compile_model(core.read_model(model, b""), "CPU", config)
            ran, primitive = _ov_product_node(compiled)
            if ran not in accepted:
                raise RuntimeError(
                    f"the product ran in {ran or 'an unknown precision'} ({primitive})"
                )
            threads_seen.append(int(compiled.get_property("INFERENCE_NUM_THREADS")))
            request = compiled.create_infer_request()
            return (lambda: request.infer({0: x})), f"{primitive} {ran}, hint {hint}"

        found = _try(
            notes,
            "openvino MatMul",
            precision,
            partial(_sweep, "openvino MatMul", precision, sizes, 0, make),
        )
        out += [replace(c, threads=threads_seen[-1]) for c in found]
        if precision in ("fp32", "bf16"):
            out += _try(
                notes,
                "openvino Convolution",
                precision,
                partial(_openvino_conv, core, hint, accepted, precision),
            )
    return Outcome(tuple(out), tuple(notes))


def _openvino_conv(
    core: Any, hint: str, accepted: tuple[str, ...], precision: str
) -> list[Candidate]:
    model, x = _onnx_conv()
    config = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
    compiled = core.compile_model(core.read_model(model, b""), "CPU", config)
    ran, primitive = "", "no convolution in the runtime graph"
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        if "layerType" in rt and rt["layerType"].astype(str) == "Convolution":
            ran = rt["runtimePrecision"].astype(str).lower() if "runtimePrecision" in rt else ""
            primitive = rt["primitiveType"].astype(str) if "primitiveType" in rt else ""
            break
    if ran not in accepted:
        raise RuntimeError(f"the convolution ran in {ran or 'an unknown precision'} ({primitive})")
    request = compiled.create_infer_request()
    threads = int(compiled.get_property("INFERENCE_NUM_THREADS"))
    detail = f"Convolution {primitive} {ran}, hint {hint}"
    return [
        _conv_candidate(
            "openvino Convolution", precision, threads, partial(request.infer, {0: x}), detail
        )
    ]
