"""The openvino engine: one module per responsibility (engine, config, inspect, quantize)."""
