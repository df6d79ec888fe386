"""Placeholder module: filled in by the model-zoo work (issue 3)."""
