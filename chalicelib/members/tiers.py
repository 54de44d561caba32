"""Member tiers (pure): new / active / loyal / at_risk from order history."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.types import MemberTier

WINDOW = timedelta(days=30)
LOYAL_ORDERS = 4


def tier_for(orders_in_window: int, last_order_at: datetime | None) -> MemberTier:
    """`orders_in_window`: orders in the 30 days up to now."""
    if last_order_at is None:
        return "new"
    if orders_in_window >= LOYAL_ORDERS:
        return "loyal"
    if orders_in_window >= 1:
        return "active"
    return "at_risk"
