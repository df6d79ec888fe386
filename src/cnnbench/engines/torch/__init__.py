"""The torch engine: one module per responsibility (engine, config, inspect, quantize)."""
