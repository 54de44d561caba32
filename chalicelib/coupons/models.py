"""Storage models for coupons (filled in by that capability)."""

MODELS: list = []
