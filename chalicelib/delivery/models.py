"""Storage models for delivery (filled in by that capability)."""

MODELS: list = []
