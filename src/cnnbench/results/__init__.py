"""Typed result records (schema ``cnnbench.result/1``), their sections and JSON-lines exchange."""
