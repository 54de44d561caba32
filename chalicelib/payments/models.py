"""Storage models for payments (filled in by that capability)."""

MODELS: list = []
