"""Hooks around the timed window of a worker: energy, counters, per-layer profiles."""
