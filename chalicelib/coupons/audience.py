"""Who a template is for, and how a store's offers are ranked for one
member (千人千面). The tier definition lives with payments/ (which keeps
the order history) and RFM with members/; coupons only ask.

Ranking (pure, `rank`): each offer gets points for the first reason that
fits the member, then by value. The reasons, strongest first:
- new member + an offer with no (or the lowest) minimum spend: "first-order coupon";
- at_risk / hibernating member (tier or RFM) + an offer targeted at them, or
  the biggest discount: "win-back";
- loyal / champion member + an offer boosted today (member day): "member-day boost";
- an offer whose audience names the member's tier or RFM segment: "picked for you";
- clearance: "clearance while stock lasts";
- already holding one of it (claims below the per-member limit) pushes it down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.coupons.models import TemplateRecord
from chalicelib.members import rfm
from chalicelib.members.models import MemberRecord
from chalicelib.payments.tiers import member_tier
from chalicelib.types import MemberTier


def caller_tier(member_id: str, now: datetime) -> MemberTier:
    """new / active / loyal / at_risk as of `now` (payments/: orders in the
    30 days up to now, from its index; no record = "new")."""
    return member_tier(member_id, now)


@dataclass(frozen=True)
class MemberContext:
    tier: str
    scores: rfm.Rfm


def member_context(member_id: str, now: datetime) -> MemberContext:
    """Tier now; RFM as stored by the last payment/refund, recency re-scored now."""
    tier = caller_tier(member_id, now)
    try:
        record = MemberRecord.get(member_id)
    except DoesNotExist:
        return MemberContext(tier, rfm.Rfm(0, 0, 0, "new"))
    if not record.orders_total or record.rfm_segment is None:
        return MemberContext(tier, rfm.Rfm(0, 0, 0, "new"))
    r = rfm.recency_score(record.last_order_at, now)
    f, m = int(record.rfm_f or 0), int(record.rfm_m or 0)
    return MemberContext(tier, rfm.Rfm(r, f, m, rfm.segment_of(r, f, m)))


def in_audience(tiers: list[str] | None, segments: list[str] | None, who: MemberContext) -> bool:
    return matches(tiers, segments, who.tier, who.scores.segment)


def matches(tiers: list[str] | None, segments: list[str] | None, tier: str | None, segment: str | None) -> bool:
    """The audience rule: open to all, or the member's tier or RFM segment is named."""
    if not tiers and not segments:
        return True
    return tier in (tiers or []) or segment in (segments or [])


def admits(template: TemplateRecord, member_id: str, now: datetime) -> bool:
    if not template.audience_tiers and not template.audience_segments:
        return True
    return in_audience(template.audience_tiers, template.audience_segments, member_context(member_id, now))


@dataclass(frozen=True)
class Candidate:
    template_id: str
    kind: str
    value: int
    min_spend_fen: int
    boosted: bool
    held: int
    audience_tiers: tuple[str, ...] = ()
    audience_segments: tuple[str, ...] = ()


_LAPSING = ("at_risk", "hibernating")
_LOYAL = ("loyal", "champion")


def reason_for(c: Candidate, who: MemberContext, lowest_min_spend: int, biggest_value: int) -> tuple[int, str | None]:
    """(points, reason) of one offer for this member."""
    points, reason = 0, None
    lapsing = who.tier == "at_risk" or who.scores.segment in _LAPSING
    targeted = who.tier in c.audience_tiers or who.scores.segment in c.audience_segments
    if who.tier == "new" and c.kind != "clearance" and c.min_spend_fen == lowest_min_spend:
        points, reason = 50, "first-order coupon for new members"
    elif lapsing and (targeted or (c.value == biggest_value and c.kind != "clearance")):
        points, reason = 50, "win-back: we miss you"
    elif (who.tier == "loyal" or who.scores.segment in _LOYAL) and c.boosted:
        points, reason = 40, "member-day boost for loyal members"
    elif targeted:
        group = who.scores.segment if who.scores.segment in c.audience_segments else who.tier
        points, reason = 30, f"picked for {group} members"
    elif c.boosted:
        points, reason = 20, "boosted today: member day"
    elif c.kind == "clearance":
        points, reason = 10, "clearance while stock lasts"
    if c.held:
        points -= 30
        reason = f"{reason + '; ' if reason else ''}you already hold {c.held}"
    return points, reason


def rank(candidates: list[Candidate], who: MemberContext) -> list[tuple[Candidate, str | None]]:
    """Best first: points, then value, then template id (stable)."""
    if not candidates:
        return []
    lowest = min((c.min_spend_fen for c in candidates if c.kind != "clearance"), default=0)
    biggest = max((c.value for c in candidates if c.kind != "clearance"), default=0)
    scored = [(c, *reason_for(c, who, lowest, biggest)) for c in candidates]
    scored.sort(key=lambda item: (-item[1], -item[0].value, item[0].template_id))
    return [(c, reason) for c, _, reason in scored]
