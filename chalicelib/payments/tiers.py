"""A member's tier from their payments: orders in the last 30 days come
from the payments-by-member index (a Query with a range condition on
paid_at, keys only), the last order from the member record."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.members.models import MemberRecord
from chalicelib.members.tiers import WINDOW, tier_for
from chalicelib.payments.models import PaymentRecord
from chalicelib.types import MemberTier


def orders_in_window(member_id: str, now: datetime) -> int:
    return PaymentRecord.by_member_paid_at.count(
        member_id, range_key_condition=PaymentRecord.paid_at.between(now - WINDOW, now))


def member_tier(member_id: str, now: datetime) -> MemberTier:
    try:
        member = MemberRecord.get(member_id)
    except DoesNotExist:
        return "new"
    return tier_given_last_order(member_id, member.last_order_at, now,
                                 None if member.orders_total is None else int(member.orders_total))


def tier_given_last_order(member_id: str, last_order_at: datetime | None, now: datetime,
                          orders_total: int | None = None) -> MemberTier:
    """For callers holding the member record: a member who never ordered
    (or whose every order was refunded: `orders_total` 0) is "new" without
    touching the payments index."""
    if last_order_at is None or orders_total == 0:
        return "new"
    return tier_for(orders_in_window(member_id, now), last_order_at)
