"""Per store, per local day counters, written along the way (never by scanning)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class ByDay(GlobalSecondaryIndex["StoreDayStats"]):
    """Every store's row for one day: chain-wide stats are one Query per day."""

    class Meta:
        index_name = "by_day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute(range_key=True)


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
    # by the member's tier at claim (stats/member_tiers.py)
    claimed_new = NumberAttribute(null=True)
    claimed_active = NumberAttribute(null=True)
    claimed_loyal = NumberAttribute(null=True)
    claimed_at_risk = NumberAttribute(null=True)
    redeemed_new = NumberAttribute(null=True)
    redeemed_active = NumberAttribute(null=True)
    redeemed_loyal = NumberAttribute(null=True)
    redeemed_at_risk = NumberAttribute(null=True)
    reversed_new = NumberAttribute(null=True)
    reversed_active = NumberAttribute(null=True)
    reversed_loyal = NumberAttribute(null=True)
    reversed_at_risk = NumberAttribute(null=True)

    by_day = ByDay()


MODELS = [StoreDayStats]
