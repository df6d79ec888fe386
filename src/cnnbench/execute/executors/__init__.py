"""Executors run worker jobs (here or on a fleet); the parent alone writes the store."""
