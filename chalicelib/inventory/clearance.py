"""Idle-hour clearance rules (pure): price after discount, which items are
announced, and the claim window."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.types import hhmm_minutes


@dataclass(frozen=True)
class ClearanceItem:
    sku: str
    name: str
    qty: int
    price_fen: int
    discount_percent: int | None  # None = no clearance rule
    from_hhmm: str | None


def clearance_price(price_fen: int, discount_percent: int) -> int:
    """Price after `discount_percent` off, rounded down to whole fen in the
    customer's favour; never below 1 fen (a free item is a free_item coupon,
    not a clearance)."""
    if not 0 < discount_percent < 100:
        raise ValueError("discount_percent must be 1..99")
    return max(1, price_fen * (100 - discount_percent) // 100)


def to_announce(items: list[ClearanceItem]) -> list[ClearanceItem]:
    """Items with stock and a rule; sold-out items are never announced."""
    return sorted((i for i in items if i.qty > 0 and i.discount_percent), key=lambda i: i.sku)


def claim_window(item: ClearanceItem, fire: datetime, local_date: date, tz: str) -> tuple[datetime, datetime]:
    """Claimable from the idle hour (or the item's own `from`, if later) to
    the end of the store's local day: clearance is today's stock."""
    zone = ZoneInfo(tz)
    start = fire
    if item.from_hhmm:
        minutes = hhmm_minutes(item.from_hhmm)
        start = max(fire, datetime.combine(local_date, time(minutes // 60, minutes % 60), tzinfo=zone))
    end = datetime.combine(local_date + timedelta(days=1), time(0, 0), tzinfo=zone)
    return start, end


def template_id(store_id: str, local_date: date, sku: str) -> str:
    """Deterministic, so a re-driven clearance run reuses the day's template,
    and unambiguous across stores: `clr.{store}.{YYYYMMDD}.{sku}` only when
    neither part contains a dot (then the four parts split back exactly) and
    it fits; otherwise `clrh.{YYYYMMDD}.{hash}` of the length-prefixed parts
    (a different prefix, so the two forms never meet)."""
    day = local_date.strftime("%Y%m%d")
    if "." not in store_id and "." not in sku:
        candidate = f"clr.{store_id}.{day}.{sku}"
        if len(candidate) <= 64:
            return candidate
    digest = hashlib.sha256(f"{len(store_id)}:{store_id}|{len(sku)}:{sku}".encode()).hexdigest()[:40]
    return f"clrh.{day}.{digest}"
