"""The command line: ``cnnbench`` (see :mod:`cnnbench.cli.main`)."""

from cnnbench.cli.main import main

__all__ = ["main"]
