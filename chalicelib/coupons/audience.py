"""The caller's member tier, for audience targeting. One function on purpose:
when payments/ ships `member_tier(member_id, now)`, swap the body for it."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.members.models import MemberRecord
from chalicelib.members.tiers import WINDOW, tier_for
from chalicelib.types import MemberTier


def caller_tier(member_id: str, now: datetime) -> MemberTier:
    """From what the member record holds today: orders_total counts toward
    the 30-day window only if the last order is inside it (an approximation
    until payments/ keeps a windowed count). No record = "new"."""
    try:
        record = MemberRecord.get(member_id)
    except DoesNotExist:
        return "new"
    last = record.last_order_at
    recent = last is not None and now - last <= WINDOW
    return tier_for(int(record.orders_total or 0) if recent else 0, last)
