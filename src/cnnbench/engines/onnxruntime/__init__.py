"""The onnxruntime engine: one module per responsibility (engine, config, inspect, quantize)."""
