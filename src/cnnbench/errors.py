"""Exceptions shared by every part of cnnbench."""

from __future__ import annotations


class CnnbenchError(Exception):
    """Base class of the errors cnnbench raises on purpose."""


class BadInput(CnnbenchError):
    """The user asked for something that cannot be: one line for stderr, exit code 2."""


class Unsupported(CnnbenchError):
    """An engine cannot honour a requested setting; recorded as status ``unsupported``."""


class StoreError(BadInput):
    """The result store cannot be opened, written or understood."""
