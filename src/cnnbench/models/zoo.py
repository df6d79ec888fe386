"""Imports every built-in model family so that their ``@register_model`` calls run."""

from cnnbench.models import (  # noqa: F401
    alexnet,
    darts,
    googlenet,
    inception,
    mobilenet,
    nasnet,
    nin,
    patterns,
    resnet,
    squeezenet,
    tiny,
    vgg,
    yolo,
)
