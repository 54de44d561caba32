"""The coupon capability's public API for other capabilities (campaigns,
the scheduler). Import from here, not from the modules behind it.

    from chalicelib.coupons.service import TemplateIn, create_template, clearance_template

    data = clearance_template(store_id="S1", title="Bread -30%", discount_fen=450, qty=12,
                              claim_start=at, claim_end=closing)
    create_template(data, now, template_id=f"clr-S1-{local_date}-{sku}")  # TemplateExists on a retry

or, in one idempotent call, `create_clearance_template(...)` (returns the
template id, whether this call created it or an earlier one did).
"""

from __future__ import annotations

from datetime import datetime

from chalicelib.coupons.errors import TemplateExists
from chalicelib.coupons.models import TemplateRecord
from chalicelib.coupons.offers import store_offers
from chalicelib.coupons.schemas import Offers, ScopeIn, TemplateIn
from chalicelib.coupons.templates import create_template, get_template, remaining, update_template

__all__ = ["TemplateExists", "TemplateIn", "TemplateRecord", "Offers", "clearance_template",
           "create_clearance_template", "create_template", "get_template", "remaining", "store_offers",
           "update_template"]


def clearance_template(*, store_id: str, title: str, discount_fen: int, qty: int, claim_start: datetime,
                       claim_end: datetime, valid_until: datetime | None = None, per_member_limit: int = 1,
                       stock_shards: int | None = None) -> TemplateIn:
    """A clearance coupon for one store: `qty` units (one per claim), worth
    `discount_fen` off the item at redemption, usable until `valid_until`
    (default: the end of the claim window)."""
    return TemplateIn(
        title=title, kind="clearance", value=discount_fen, scope=ScopeIn(store_ids=[store_id]),
        total_stock=qty, per_member_limit=per_member_limit, claim_start=claim_start, claim_end=claim_end,
        valid_days=None, valid_until=valid_until or claim_end, stock_shards=stock_shards)


def create_clearance_template(*, template_id: str, store_id: str, title: str, value_fen: int, stock: int,
                              claim_start: datetime, claim_end: datetime, now: datetime) -> str:
    """Idempotent by `template_id`: a re-driven clearance run gets the same
    template back instead of a second stock of the same units."""
    data = clearance_template(store_id=store_id, title=title, discount_fen=value_fen, qty=stock,
                              claim_start=claim_start, claim_end=claim_end)
    try:
        create_template(data, now, template_id=template_id)
    except TemplateExists:
        pass
    return template_id
