"""The member's tier *at claim*, for redemption rate by member tier.

Definition: a coupon belongs to the tier its member had when claiming it
(`CouponRecord.member_tier`, stamped at claim and copied onto the
redemption). Its claim, redemption and reversal are counted under that
tier in the store's daily counters (`claimed_<tier>`, `redeemed_<tier>`,
`reversed_<tier>` on `store-day-stats`), inside the same transactions that
count `coupons_claimed` / `coupons_redeemed` / `redemptions_reversed`. So
the rate of a tier is "of the coupons claimed by members who were <tier>
at the time, how many were used": a member who turns loyal after claiming
does not move an old coupon, and a redemption never needs a tier lookup.

Cost: the tier (`payments.tiers.member_tier`: a member GetItem, plus a
keys-only Query on the payments index for members who ever ordered) is
cached per container for `TTL_S` seconds; `remember()` refreshes it when
this container records a payment or refund. A tier seen by another
container can lag a payment by at most `TTL_S`. Coupons claimed before
tiers were stamped have no tier and are left out of the by-tier figures.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from chalicelib.settings import Settings, get_settings

MEMBER_TIERS = ("new", "active", "loyal", "at_risk")
TTL_S = 300.0
MAX_MEMBERS = 50_000

_lock = threading.Lock()
_cache: OrderedDict[str, tuple[float, str]] = OrderedDict()
_for: Settings | None = None
lookups = 0  # tier lookups that went to DynamoDB (cache misses)


def _fresh() -> None:
    global _for
    settings = get_settings()
    if settings is not _for:
        _cache.clear()
        _for = settings


def remember(member_id: str, tier: str) -> None:
    with _lock:
        _fresh()
        _cache[member_id] = (time.monotonic() + TTL_S, tier)
        _cache.move_to_end(member_id)
        while len(_cache) > MAX_MEMBERS:
            _cache.popitem(last=False)


def tier_at(member_id: str, now: datetime) -> str:
    """The member's tier as of `now` (cached up to `TTL_S`)."""
    global lookups
    with _lock:
        _fresh()
        hit = _cache.get(member_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    from chalicelib.payments.tiers import member_tier  # lazily: payments imports members

    lookups += 1
    tier = member_tier(member_id, now)
    remember(member_id, tier)
    return tier


def counts(kind: str, tier: str | None) -> dict[str, Any]:  # Any: spread into bump_in(**counts)
    """Counter increments for `bump_in(...)`: `{f"{kind}_{tier}": 1}`, or
    nothing for a coupon claimed before tiers were stamped."""
    return {f"{kind}_{tier}": 1} if tier in MEMBER_TIERS else {}
