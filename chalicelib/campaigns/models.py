"""Storage models for campaigns (filled in by that capability)."""

MODELS: list = []
