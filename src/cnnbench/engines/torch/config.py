"""Torch settings: the engine's option table and the torch-specific reading of a target.

See :mod:`cnnbench.engines.torch.engine` for what each setting means.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnbench.engines._options import MALLOC, Option, parse_options
from cnnbench.spec import Target

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")

OPTIONS: tuple[Option, ...] = (
    Option("bf16", ("cast", "autocast"), "cast", "bf16/fp16: cast the module, or torch.autocast"),
    Option("channels_last", bool, False, "run the module and input in channels-last layout"),
    Option("compile", bool, False, "torch.compile (inductor), compiled in prepare, not timed"),
    Option("compile_mode", COMPILE_MODES, "default", "torch.compile's mode"),
    Option(
        "fold_bn",
        bool,
        False,
        "fold eval BatchNorm into the preceding conv (torch.fx) as the ONNX export does; "
        "eager runs it as its own layer by default",
    ),
    MALLOC,
)


@dataclass(frozen=True)
class TorchConfig:
    """The torch-specific reading of a target's options."""

    channels_last: bool
    compile: bool
    compile_mode: str
    low_precision_mode: str  # "cast" | "autocast" (only meaningful for bf16/fp16)
    fold_bn: bool = False

    @classmethod
    def from_target(cls, target: Target) -> TorchConfig:
        values = parse_options("torch", OPTIONS, target.options)
        return cls(
            channels_last=bool(values.flag("channels_last")),
            compile=bool(values.flag("compile")),
            compile_mode=values.text("compile_mode"),
            low_precision_mode=values.text("bf16"),
            fold_bn=bool(values.flag("fold_bn")),
        )
