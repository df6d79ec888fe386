"""The PyTorch engine: eager (or torch.compile) on the CPU, and on CUDA devices where present.

Precision: fp32 (default); bf16 either casts the module and input to bfloat16 (``bf16=cast``, the
default) or runs fp32 weights under ``torch.autocast`` (``bf16=autocast``); fp16 likewise, on
CUDA only; int8 is refused (no post-training quantisation path from an fp32 graph here).
``run`` synchronises a CUDA device before it returns, so a timed call covers the whole inference.
``streams`` > 1 (CPU): ``infer_queue`` gives that many Python threads, each calling the module
(PyTorch releases the GIL inside its operators; every thread shares the intra-op pool).

Options (``--option KEY=VALUE``, the table in :mod:`cnnbench.engines.torch.config`):
``channels_last=1``; ``compile=1`` (torch.compile, inductor; the compilation happens in
``prepare`` and is not timed); ``compile_mode=default|reduce-overhead|max-autotune``;
``bf16=cast|autocast`` (also for fp16).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np

from cnnbench.engines._thread_queue import ThreadInferQueue
from cnnbench.engines.base import (
    Around,
    Engine,
    EngineLayer,
    InferQueue,
    ModelInstance,
    Session,
    register_engine,
)
from cnnbench.engines.torch.config import OPTIONS, TorchConfig
from cnnbench.engines.torch.inspect import (
    OneDnnTrace,
    check_trace,
    exceptions_json,
    trace_call,
)
from cnnbench.engines.torch.profile import profile_module
from cnnbench.errors import Unsupported
from cnnbench.spec import Target
from cnnbench.system.isa import get_cap, highest_isa


def fold_batchnorm(module: Any) -> Any:
    """``module`` with every eval BatchNorm that follows a conv folded into it (torch.fx), as
    the ONNX exporter folds it; a module torch.fx cannot trace is Unsupported."""
    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(module, inplace=False)
    except Exception as exc:  # symbolic tracing fails on data-dependent control flow
        raise Unsupported(f"fold_bn=1: torch.fx cannot trace this module ({exc!s:.120})") from exc


class TorchSession(Session):
    def __init__(
        self,
        module: Any,
        device: Any,
        dtype: Any,
        input_dtype: Any,
        cfg: TorchConfig,
        streams: int = 1,
    ) -> None:
        import torch

        self._torch = torch
        self.module = module
        self.device = device
        self.dtype = dtype  # the compute precision
        self.input_dtype = input_dtype  # what the module is fed (fp32 under autocast)
        self.cfg = cfg
        self._cuda = device.type == "cuda"
        self._autocast = dtype != input_dtype
        self.streams = streams
        self.onednn: OneDnnTrace | None = None  # oneDNN's primitives in one call (CPU)
        self.isa_exceptions: list[dict[str, str]] = []

    def make_inputs(self, array: np.ndarray) -> Any:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self.input_dtype)
        if self.cfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self._cuda:
            torch.cuda.synchronize(self.device)
        return x

    def run(self, inputs: Any) -> Any:
        out = self.module(inputs)
        if self._cuda:
            self._torch.cuda.synchronize(self.device)
        return out

    def timed_call(self, inputs: Any) -> Any:
        module = self.module
        if self._cuda:
            sync = self._torch.cuda.synchronize
            device = self.device

            def call() -> None:
                module(inputs)
                sync(device)

            return call
        return lambda: module(inputs)

    def infer_queue(self, inputs: Any, size: int) -> InferQueue:
        """``size`` Python threads, each calling the module on ``inputs``. Grad mode and
        autocast are per thread, so each thread enters :meth:`context` itself."""
        if self._cuda and size > 1:
            raise Unsupported("torch runs one request at a time on CUDA (streams are CPU threads)")
        call = self.timed_call(inputs)
        return ThreadInferQueue([call] * size, thread_context=self.context, name="cnnbench-torch")

    def profile(
        self, inputs: Any, calls: int, around: Around | None = None
    ) -> list[list[EngineLayer]]:
        """Leaf-module layers under ``torch.profiler`` (:mod:`cnnbench.engines.torch.profile`),
        under :meth:`context` as ``run`` is timed; eager mode only."""
        if self.cfg.compile:
            raise Unsupported("torch profiles modules in eager mode only, not with compile=1")
        torch = self._torch
        sync = (lambda: torch.cuda.synchronize(self.device)) if self._cuda else None
        with self.context():
            return profile_module(torch, self.module, lambda: self.run(inputs), calls, sync, around)

    def to_numpy(self, outputs: Any) -> np.ndarray:
        if isinstance(outputs, tuple | list):
            outputs = outputs[0]
        return outputs.detach().float().cpu().numpy()

    def context(self) -> contextlib.AbstractContextManager[None]:
        torch = self._torch
        if not self._autocast:
            return torch.inference_mode()
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(torch.autocast(self.device.type, dtype=self.dtype))
        return stack  # type: ignore[return-value]

    def effective(self) -> dict[str, Any]:
        torch = self._torch
        names = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
        eff: dict[str, Any] = {
            "precision": names[self.dtype],
            "precision_mode": "autocast" if self._autocast else "cast",
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "streams": self.streams,
            "mode": f"compile(inductor, {self.cfg.compile_mode})" if self.cfg.compile else "eager",
            "memory_format": "channels_last" if self.cfg.channels_last else "contiguous",
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            # the highest ISA of oneDNN's executed primitives, else ATen's dispatch level
            "isa": self._isa_seen(),
            "onednn_isa": self.onednn.isa if self.onednn else None,
            "kernel_counts": self.onednn.kernel_counts() if self.onednn else {},
            "isa_exceptions": list(self.isa_exceptions),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "mkldnn_enabled": bool(torch.backends.mkldnn.is_available()),
        }
        if self._cuda:
            eff["gpu"] = torch.cuda.get_device_name(self.device)
        return eff

    def _isa_seen(self) -> str | None:
        if self._cuda:
            return None
        if self.onednn is not None:
            seen = highest_isa(p.impl for p in self.onednn.primitives)
            if seen is not None:
                return seen
        return str(self._torch.backends.cpu.get_cpu_capability()).lower()


@register_engine
class TorchEngine(Engine):
    name = "torch"
    package = "torch"
    module = "torch"
    options = OPTIONS
    runs_onnx_files = False  # eager torch runs modules, not ONNX graphs

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        import torch

        gpus = tuple(f"cuda:{i}" for i in range(torch.cuda.device_count()))
        return ("cpu", *gpus)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        import torch

        cfg = TorchConfig.from_target(target)
        if model.module is None:
            raise Unsupported("the torch engine runs PyTorch modules, not ONNX files")
        if target.streams > 1 and target.device != "cpu":
            raise Unsupported("torch streams > 1 run as CPU threads; on CUDA use one stream")
        device = self._device(torch, target.device)
        dtype = self._dtype(torch, target.precision, device)
        if target.threads is not None:
            torch.set_num_threads(target.threads)
            if torch.get_num_threads() != target.threads:
                raise Unsupported(
                    f"torch runs {torch.get_num_threads()} threads, not the {target.threads} asked"
                )
        if target.isa is not None:
            self._check_isa(torch, target.isa, device)
        autocast = dtype != torch.float32 and cfg.low_precision_mode == "autocast"
        weights_dtype = torch.float32 if autocast else dtype
        module: Any = model.module.eval()
        if cfg.fold_bn:
            module = fold_batchnorm(module)
        module = module.to(device=device, dtype=weights_dtype)
        if cfg.channels_last:
            module = module.to(memory_format=torch.channels_last)
        if cfg.compile:
            module = torch.compile(module, backend="inductor", mode=cfg.compile_mode)
        session = TorchSession(module, device, dtype, weights_dtype, cfg, target.streams)
        if cfg.compile:
            # Compile now, on an input of the real shape, so compilation is never timed.
            x = session.make_inputs(np.zeros(model.input_shape, dtype=np.float32))
            with session.context():
                session.run(x)
        if device.type == "cpu":
            # One call with oneDNN's verbose mode: the kernels that ran, checked against a cap.
            x = session.make_inputs(np.zeros(model.input_shape, dtype=np.float32))
            with session.context():
                session.onednn = trace_call(torch, lambda: session.run(x))
            if target.isa is not None:
                above = check_trace(session.onednn, target.isa)
                if target.isa_strict and above:
                    names = ", ".join(sorted({f"{p.kind}:{p.impl}" for p in above}))
                    raise Unsupported(f"torch: strict ISA cap {target.isa}: {names} run above it")
                session.isa_exceptions = exceptions_json(above)
        return session

    @staticmethod
    def _device(torch: Any, name: str) -> Any:
        if name == "cpu":
            return torch.device("cpu")
        if name.startswith("cuda"):
            if not torch.cuda.is_available():
                raise Unsupported("CUDA is not available to torch on this machine")
            dev = torch.device(name)
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise Unsupported(f"{name}: only {torch.cuda.device_count()} CUDA device(s)")
            return dev
        raise Unsupported(f"torch engine has no device {name!r} (cpu, cuda[:N])")

    @staticmethod
    def _dtype(torch: Any, precision: str, device: Any) -> Any:
        if precision == "fp32":
            return torch.float32
        if precision == "bf16":
            return torch.bfloat16
        if precision == "fp16":
            if device.type != "cuda":
                raise Unsupported("torch fp16 is offered on CUDA devices only")
            return torch.float16
        raise Unsupported(f"torch has no {precision} path from an fp32 model")

    @staticmethod
    def _check_isa(torch: Any, isa: str, device: Any) -> None:
        if device.type != "cpu":
            raise Unsupported("an ISA cap applies to CPU devices only")
        want = get_cap(isa).aten.upper()
        got = torch.backends.cpu.get_cpu_capability().upper()
        if got != want:
            raise Unsupported(f"ISA cap {isa}: ATen runs {got}, not {want}")
