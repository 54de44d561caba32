"""Per store, per local day counters, written along the way (never by scanning)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model


class StoreDayStats(Model):
    BASE_NAME = "store-day-stats"

    class Meta:
        table_name = "store-day-stats"

    store_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)  # YYYY-MM-DD, the store's local date
    members_joined = NumberAttribute(null=True)
    members_left = NumberAttribute(null=True)
    coupons_claimed = NumberAttribute(null=True)
    coupons_redeemed = NumberAttribute(null=True)
    redemptions_reversed = NumberAttribute(null=True)
    clearance_units_claimed = NumberAttribute(null=True)
    posts_sent = NumberAttribute(null=True)
    posts_failed = NumberAttribute(null=True)
    payments = NumberAttribute(null=True)
    gmv_fen = NumberAttribute(null=True)


MODELS = [StoreDayStats]
