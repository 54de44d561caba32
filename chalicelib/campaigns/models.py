"""Storage for campaigns: per-store slot plans, the slot schedule index the
tick reads, the tick watermark, and the post ledger."""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class SlotMap(MapAttribute):
    slot = UnicodeAttribute()
    at = UnicodeAttribute()
    kind = UnicodeAttribute()


class SlotPlanRecord(Model):
    """A store's own slot plan; no item = the default plan."""

    BASE_NAME = "slot-plans"

    class Meta:
        table_name = "slot-plans"

    store_id = UnicodeAttribute(hash_key=True)
    slots = ListAttribute(of=SlotMap)
    updated_at = UTCDateTimeAttribute()


class SlotIndexRecord(Model):
    """One item per (store, slot, UTC fire minute): `bucket` is "0000".."1439".
    A tick reads only the buckets of the minutes it covers, so a tick with
    nothing due costs the same for 10 stores or 10,000. Items are a hint:
    the worker re-checks the store's current plan and removes stale ones."""

    BASE_NAME = "slot-index"

    class Meta:
        table_name = "slot-index"

    bucket = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "{store_id}#{slot}"
    store_id = UnicodeAttribute()
    slot = UnicodeAttribute()
    at = UnicodeAttribute()
    kind = UnicodeAttribute()
    timezone = UnicodeAttribute()
    rev = UnicodeAttribute()  # unique per index write: guards the lazy stale-item delete
    # the store version (its updated_at, in µs) this item was filed from: a
    # re-file replaces an item only from the same or a newer version
    # (schedule.reindex), so concurrent saves filed out of order converge on
    # the newest store. Absent on items filed before the stamp (any version wins).
    store_version = NumberAttribute(null=True)


class TickWatermark(Model):
    """The latest instant a tick has fully fanned out (only ever moves forward)."""

    BASE_NAME = "tick-watermark"

    class Meta:
        table_name = "tick-watermark"

    name = UnicodeAttribute(hash_key=True)
    processed_to = UTCDateTimeAttribute()


class OfferMap(MapAttribute):
    template_id = UnicodeAttribute()
    title = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = NumberAttribute()
    min_spend_fen = NumberAttribute(null=True)
    remaining = NumberAttribute(null=True)
    claim_end = UnicodeAttribute(null=True)
    boosted = UnicodeAttribute(null=True)  # "1" when boosted for member day


class Outbox(GlobalSecondaryIndex["PostRecord"]):
    """Sparse: only posts still owed a delivery attempt carry `outbox_shard`,
    so 'what needs (re)sending by T' is one Query per shard, whatever the
    number of posts ever made."""

    class Meta:
        index_name = "outbox"
        projection = AllProjection()

    outbox_shard = UnicodeAttribute(hash_key=True)
    next_attempt_at = UnicodeAttribute(range_key=True)  # ISO UTC, sorts as time


class PostRecord(Model):
    """The ledger: one item per (store, local date, slot), created with
    attribute_not_exists, so a slot is posted at most once whatever the
    triggers do. `post_id` = "{YYYY-MM-DD}.{slot}"."""

    BASE_NAME = "posts"

    class Meta:
        table_name = "posts"

    store_id = UnicodeAttribute(hash_key=True)
    post_id = UnicodeAttribute(range_key=True)
    slot = UnicodeAttribute()
    kind = UnicodeAttribute()
    local_date = UnicodeAttribute()
    fire_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # pending | sent | failed
    member_day = UnicodeAttribute(null=True)  # "1" when built on the store's member day
    body = UnicodeAttribute(null=True)
    offers = ListAttribute(of=OfferMap, null=True)
    group_ids: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]  # stubs want of=str
    sent_parts = UnicodeSetAttribute(null=True)  # "{group_id}#{part}" delivered so far
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    outbox_shard = UnicodeAttribute(null=True)
    next_attempt_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)  # a token per create call: tells our own lost-answer commit apart

    outbox = Outbox()


MODELS = [SlotPlanRecord, SlotIndexRecord, TickWatermark, PostRecord]
