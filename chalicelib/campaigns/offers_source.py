"""The one seam between campaigns and coupons. Post content and clearance
go through these two functions, so the coupons capability can change its
internals (or names) without touching the tick, the worker or the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.stores.models import StoreRecord


@dataclass(frozen=True)
class Offer:
    template_id: str
    title: str
    kind: str
    value: int
    min_spend_fen: int = 0
    remaining: int | None = None
    claim_end: str | None = None
    boosted: bool = False


@dataclass(frozen=True)
class OfferSet:
    offers: list[Offer]
    member_day: bool


def store_offers(store: StoreRecord, now: datetime) -> OfferSet:
    """What GET /stores/{id}/offers would show at `now` (boosted on member day)."""
    from chalicelib.coupons import service

    view = service.store_offers(store, now)
    offers = [Offer(template_id=o.template_id, title=o.title, kind=o.kind, value=int(o.value),
                    min_spend_fen=int(o.min_spend_fen or 0), remaining=o.remaining,
                    claim_end=o.claim_end.isoformat() if isinstance(o.claim_end, datetime) else o.claim_end,
                    boosted=bool(o.boosted)) for o in view.offers]
    return OfferSet(offers, bool(view.member_day))


def create_clearance(store: StoreRecord, template_id: str, title: str, value_fen: int, stock: int,
                     claim_start: datetime, claim_end: datetime, now: datetime) -> str:
    """A clearance coupon template scoped to this one store, stock = units
    on hand. Idempotent by `template_id` (a re-driven clearance run reuses it)."""
    from chalicelib.coupons import service

    return service.create_clearance_template(
        template_id=template_id, store_id=store.store_id, title=title, value_fen=value_fen, stock=stock,
        claim_start=claim_start, claim_end=claim_end, now=now)
