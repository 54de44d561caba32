"""The caller's member tier, for audience targeting. One function on purpose,
so the definition of a tier lives with payments/ (which keeps the order
history) and coupons only asks."""

from __future__ import annotations

from datetime import datetime

from chalicelib.payments.tiers import member_tier
from chalicelib.types import MemberTier


def caller_tier(member_id: str, now: datetime) -> MemberTier:
    """new / active / loyal / at_risk as of `now` (payments/: orders in the
    30 days up to now, from its index; no record = "new")."""
    return member_tier(member_id, now)
