"""Pure coupon rules: scope, scope buckets, member day, claim window,
validity and discounts. Plain values in, plain values out; `now` is passed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.clock import for_people, local_time
from chalicelib.coupons.errors import Ended, MinSpendNotMet, NotStarted
from chalicelib.errors import ValidationFailed
from chalicelib.types import WEEKDAYS

ALL_STORES = "all"


@dataclass(frozen=True)
class Scope:
    """A store is in scope if the scope is empty (every store), or it is
    listed in `store_ids`, or at least one tier list is given and the store
    matches every tier list given. Explicit ids and tiers are OR-ed, tier
    lists are AND-ed: "S1 and S2, plus every high-traffic high-spend store"."""

    store_ids: frozenset[str] = frozenset()
    traffic_tiers: frozenset[str] = frozenset()
    spend_tiers: frozenset[str] = frozenset()

    @classmethod
    def of(cls, store_ids: Iterable[str] = (), traffic_tiers: Iterable[str] = (),
           spend_tiers: Iterable[str] = ()) -> Scope:
        return cls(frozenset(store_ids), frozenset(traffic_tiers), frozenset(spend_tiers))

    @property
    def is_everywhere(self) -> bool:
        return not (self.store_ids or self.traffic_tiers or self.spend_tiers)

    @property
    def has_tiers(self) -> bool:
        return bool(self.traffic_tiers or self.spend_tiers)

    def covers(self, store_id: str, traffic_tier: str | None, spend_tier: str | None) -> bool:
        if self.is_everywhere or store_id in self.store_ids:
            return True
        if not self.has_tiers:
            return False
        return ((not self.traffic_tiers or traffic_tier in self.traffic_tiers)
                and (not self.spend_tiers or spend_tier in self.spend_tiers))


def template_buckets(scope: Scope) -> list[str]:
    """The index buckets a template is filed under. Invariant (tested
    exhaustively): scope.covers(store) iff these meet store_buckets(store)."""
    if scope.is_everywhere:
        return [ALL_STORES]
    buckets = [f"store#{s}" for s in sorted(scope.store_ids)]
    tt, st = sorted(scope.traffic_tiers), sorted(scope.spend_tiers)
    if tt and st:
        buckets += [f"tt#{t}|st#{s}" for t in tt for s in st]
    elif tt:
        buckets += [f"tt#{t}" for t in tt]
    elif st:
        buckets += [f"st#{s}" for s in st]
    return buckets


def store_buckets(store_id: str, traffic_tier: str, spend_tier: str) -> list[str]:
    return [ALL_STORES, f"store#{store_id}", f"tt#{traffic_tier}", f"st#{spend_tier}",
            f"tt#{traffic_tier}|st#{spend_tier}"]


def is_member_day(member_day: str | None, now: datetime, timezone: str) -> bool:
    """`member_day` is MON..SUN in the store's own timezone."""
    return member_day is not None and WEEKDAYS[local_time(now, timezone).weekday()] == member_day


def claim_value(value: int, boost_value: int | None, member_day: bool) -> tuple[int, bool]:
    """(value, boosted): the boost replaces the value on the store's member day."""
    if member_day and boost_value is not None:
        return boost_value, True
    return value, False


def check_claim_window(claim_start: datetime, claim_end: datetime, now: datetime,
                       tz: str = "Asia/Shanghai") -> None:
    """The window is [claim_start, claim_end); refusals name the store's local time."""
    if now < claim_start:
        raise NotStarted(f"claiming starts at {for_people(claim_start, tz)}")
    if now >= claim_end:
        raise Ended(f"claiming ended at {for_people(claim_end, tz)}")


def expires_at(claimed_at: datetime, valid_days: int | None, valid_until: datetime | None) -> datetime:
    """`valid_days` counts 24-hour days from the claim; `valid_until` is absolute."""
    if valid_until is not None:
        return valid_until
    assert valid_days is not None, "a template has exactly one of valid_days / valid_until"
    return claimed_at + timedelta(days=valid_days)


def coupon_status(stored: str, expires: datetime, now: datetime) -> str:
    """Expiry is derived at read time, so no sweep job is needed."""
    if stored == "claimed" and now >= expires:
        return "expired"
    return stored


def discount_fen(kind: str, value: int, min_spend_fen: int, spend_fen: int | None) -> int:
    """What the coupon takes off the order.

    - min_spend: when the coupon has one, the spend must be given and reach it.
    - amount_off / free_item / clearance: `value` fen (a free item's value is
      its price), capped at the spend when the spend is given.
    - percent_off: floor(spend * value / 100); needs the spend.
    """
    if min_spend_fen > 0 and (spend_fen is None or spend_fen < min_spend_fen):
        raise MinSpendNotMet(f"needs a spend of at least {min_spend_fen} fen")
    if kind == "percent_off":
        if spend_fen is None:
            raise ValidationFailed.field("spend_fen", "required to redeem a percent_off coupon")
        return spend_fen * value // 100
    return value if spend_fen is None else min(value, spend_fen)


def within(moment: datetime, since: datetime, window: timedelta) -> bool:
    return since <= moment <= since + window
