"""Tier rules (members/tiers.tier_for, driven by payments/tiers)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.members.tiers import tier_for

LAST = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize("orders,last,tier", [
    (0, None, "new"), (1, LAST, "active"), (3, LAST, "active"), (4, LAST, "loyal"), (9, LAST, "loyal"),
    (0, LAST, "at_risk"),
])
def test_tier_for(orders: int, last: datetime | None, tier: str) -> None:
    assert tier_for(orders, last) == tier
