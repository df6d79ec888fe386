"""Placeholder: the engine is being written (issue 4)."""
