"""Per store, per local day counters, written along the way (never by scanning)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

# the `claimed_<tier>` / `redeemed_<tier>` / `reversed_<tier>` counters, in chart order
MEMBER_TIERS = ("new", "active", "loyal", "at_risk")


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
    # by the member's tier at claim, counted from the coupons stream (stats/tier_stream.py)
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


class TierMark(Model):
    """One per coupon event counted by the coupons-stream consumer
    (stats/tier_stream.py), put in the same transaction as its counter ADD
    with `attribute_not_exists`: a re-delivered stream record counts nothing.
    The claim's mark (`event_key` "claimed") also remembers the member's tier
    at claim for the coupon's later redemptions and reversals; a
    redemption's mark ("redeemed#<redemption_id>") the store and day its
    reversal is counted on. DynamoDB's TTL drops them once no event can
    need them (see `tier_stream.mark_ttl`)."""

    BASE_NAME = "member-tier-marks"

    class Meta:
        table_name = "member-tier-marks"

    coupon_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # claimed | redeemed#<redemption_id> | reversed#<redemption_id>
    tier = UnicodeAttribute()  # the member's tier at claim
    store_id = UnicodeAttribute()  # the counter row it was counted on
    day = UnicodeAttribute()
    at = UTCDateTimeAttribute()  # when the event happened (the stream record's time)
    ttl = TTLAttribute(null=True)


MODELS = [StoreDayStats, TierMark]
