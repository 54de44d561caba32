"""The idle-hour clearance run: today's items with stock and a rule become
clearance coupons (stock = qty on hand) through the coupons capability."""

from __future__ import annotations

from datetime import date, datetime

from chalicelib.campaigns import offers_source
from chalicelib.campaigns.content import yuan
from chalicelib.campaigns.offers_source import Offer
from chalicelib.inventory.clearance import claim_window, clearance_price, template_id, to_announce
from chalicelib.inventory.service import store_items, to_domain
from chalicelib.stores.models import StoreRecord
from chalicelib.types import printable_name


def run_clearance(store: StoreRecord, local_date: date, fire: datetime, now: datetime) -> list[Offer]:
    """Reads the inventory as it is now (the latest POS update wins); items at
    0 are skipped. Template ids are per (store, day, sku), so a re-driven run
    reuses the same coupons instead of issuing a second stock."""
    offers = []
    for item in to_announce([to_domain(i) for i in store_items(store.store_id)]):
        assert item.discount_percent is not None
        price = clearance_price(item.price_fen, item.discount_percent)
        # The coupon's value is what it takes off at the till (coupons/ redeems
        # clearance as fen off); the clearance price is said in the title.
        discount = item.price_fen - price
        if discount <= 0:
            continue  # a 1-fen item cannot be discounted further
        start, end = claim_window(item, fire, local_date, store.timezone)
        # an item saved before names refused control characters must not fail the post
        title = printable_name(f"{item.name} 清仓价¥{yuan(price)}(原价¥{yuan(item.price_fen)})")
        created = offers_source.create_clearance(store, template_id(store.store_id, local_date, item.sku), title,
                                                 discount, item.qty, start, end, now)
        offers.append(Offer(template_id=created, title=title, kind="clearance", value=discount,
                            remaining=item.qty, claim_end=end.isoformat()))
    return offers
