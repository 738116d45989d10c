"""Quantized workloads from the companion papers (see docs/workloads.md)."""
