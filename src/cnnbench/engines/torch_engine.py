"""The PyTorch engine: eager mode on the CPU, and on CUDA devices where a GPU exists.

Precision: fp32 (default) and bf16 run the module in that dtype; fp16 runs on CUDA only; int8 is
refused (no post-training quantisation path here). ``run`` synchronises a CUDA device before it
returns, so a timed call covers the whole inference. Options: ``channels_last=1``.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import numpy as np

from cnnbench.engines.base import Engine, ModelInstance, Session, register_engine
from cnnbench.errors import Unsupported
from cnnbench.measure.isa import get_cap
from cnnbench.spec import Target

KNOWN_OPTIONS = ("channels_last",)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


class TorchSession(Session):
    def __init__(self, module: Any, device: Any, dtype: Any, channels_last: bool, target: Target):
        import torch

        self._torch = torch
        self.module = module
        self.device = device
        self.dtype = dtype
        self.channels_last = channels_last
        self.target = target
        self._cuda = device.type == "cuda"

    def make_inputs(self, array: np.ndarray) -> Any:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(array)).to(self.device, self.dtype)
        if self.channels_last and x.dim() == 4:
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

    def to_numpy(self, outputs: Any) -> np.ndarray:
        if isinstance(outputs, tuple | list):
            outputs = outputs[0]
        return outputs.detach().float().cpu().numpy()

    def context(self) -> contextlib.AbstractContextManager[None]:
        return self._torch.inference_mode()

    def effective(self) -> dict[str, Any]:
        torch = self._torch
        eff: dict[str, Any] = {
            "precision": {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[
                self.dtype
            ],
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "streams": 1,
            "mode": "eager",
            "memory_format": "channels_last" if self.channels_last else "contiguous",
            "aten_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "mkldnn_enabled": bool(torch.backends.mkldnn.is_available()),
        }
        if self._cuda:
            eff["gpu"] = torch.cuda.get_device_name(self.device)
        return eff


@register_engine
class TorchEngine(Engine):
    name = "torch"
    package = "torch"
    module = "torch"

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        import torch

        gpus = tuple(f"cuda:{i}" for i in range(torch.cuda.device_count()))
        return ("cpu", *gpus)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        import torch

        unknown = [k for k, _ in target.options if k not in KNOWN_OPTIONS]
        if unknown:
            known = ", ".join(KNOWN_OPTIONS)
            raise Unsupported(f"torch engine has no option {', '.join(unknown)} (known: {known})")
        if target.streams != 1:
            raise Unsupported("the torch engine runs one stream per worker (streams must be 1)")
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
        channels_last = _truthy(target.option("channels_last"))
        module = model.module.eval().to(device=device, dtype=dtype)
        if channels_last:
            module = module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return TorchSession(module, device, dtype, channels_last, target)

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
                raise Unsupported("torch eager fp16 is offered on CUDA devices only")
            return torch.float16
        raise Unsupported(f"torch eager has no {precision} path from an fp32 model")

    @staticmethod
    def _check_isa(torch: Any, isa: str, device: Any) -> None:
        if device.type != "cpu":
            raise Unsupported("an ISA cap applies to CPU devices only")
        want = get_cap(isa).aten.upper()
        got = torch.backends.cpu.get_cpu_capability().upper()
        if got != want:
            raise Unsupported(f"ISA cap {isa}: ATen runs {got}, not {want}")
