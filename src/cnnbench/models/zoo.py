"""Imports every built-in model family so that their ``@register_model`` calls run."""

from cnnbench.models import mobilenet, resnet, tiny  # noqa: F401
