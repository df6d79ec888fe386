"""Imports every built-in engine module so that their ``@register_engine`` calls run."""

from cnnbench.engines import torch_engine  # noqa: F401
