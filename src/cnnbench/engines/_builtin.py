"""Imports every built-in engine module so that their ``@register_engine`` calls run."""

from cnnbench.engines.onnxruntime import engine as _onnxruntime  # noqa: F401
from cnnbench.engines.openvino import engine as _openvino  # noqa: F401
from cnnbench.engines.torch import engine as _torch  # noqa: F401
