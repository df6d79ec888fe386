"""Studies: declarative sweeps over models, targets and settings, and the parallel-modes tuner."""
