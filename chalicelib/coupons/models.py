"""Storage models for coupons. Seven tables, each with one job:

- `coupon-templates`: the template itself (truth for terms and scope).
- `coupon-template-index`: scope buckets -> templates, sorted by claim_end,
  so a store finds its live templates with a handful of Queries, never a Scan.
- `coupon-stock`: a limited template's stock split over shard items.
- `coupon-claim-counts`: how many coupons a member took of a template.
- `coupons`: issued coupons (a frozen copy of the terms they depend on).
- `coupon-redemptions`: one item per redemption; GSI by store + local date.
- `coupon-audit`: append-only history (written only with attribute_not_exists).

See docs/coupons.md for the transactions that tie them together.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


def _strings(**kw: Any) -> ListAttribute[str]:
    """A list of strings. (PynamoDB types `of=UnicodeAttribute` as a list of
    attributes; the values really are str.)"""
    return ListAttribute(of=UnicodeAttribute, **kw)  # type: ignore[arg-type]


class ByCreated(GlobalSecondaryIndex["TemplateRecord"]):
    """Every template in one partition, by creation: `GET /coupon-templates`."""

    class Meta:
        index_name = "by_created"
        projection = AllProjection()

    list_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class TemplateRecord(Model):
    BASE_NAME = "coupon-templates"

    class Meta:
        table_name = "coupon-templates"

    template_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = NumberAttribute()
    min_spend_fen = NumberAttribute()
    scope_store_ids = _strings(default=list)
    scope_traffic_tiers = _strings(default=list)
    scope_spend_tiers = _strings(default=list)
    total_stock = NumberAttribute(null=True)  # None = unlimited (no stock items)
    stock_shards = NumberAttribute(null=True)
    per_member_limit = NumberAttribute()
    claim_start = UTCDateTimeAttribute()
    claim_end = UTCDateTimeAttribute()
    valid_days = NumberAttribute(null=True)
    valid_until = UTCDateTimeAttribute(null=True)
    boost_value = NumberAttribute(null=True)
    audience_tiers = _strings(null=True)  # None = everyone
    audience_segments = _strings(null=True)  # RFM segments (members/rfm.py); with tiers: either admits
    index_buckets = _strings(default=list)  # what the index holds for it
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    status = UnicodeAttribute(null=True)  # active | paused | ended (None = active)
    list_key = UnicodeAttribute(null=True)  # "template": files it in by_created
    # 1 = every stock shard carries this template's `version` and `status`, so a
    # claim guards its terms on the shard it decrements (coupons/terms.py);
    # None = written before shards carried them (the claim checks this item)
    shard_guard = NumberAttribute(null=True)
    # 1 = each stock shard is its own partition key ("<template_id>#<shard>"),
    # so shards spread over partitions from the start; None = all under
    # `template_id` (written before: one item collection, see docs/capacity.md)
    shard_keys = NumberAttribute(null=True)
    created_key = UnicodeAttribute(null=True)  # created_at (UTC) + "#" + template_id

    by_created = ByCreated()


class TemplateIndexEntry(Model):
    """`bucket` is a scope key ("all", "store#S1", "tt#high", "st#low",
    "tt#high|st#low"); `sk` = claim_end (UTC) + "#" + template_id, so a
    range condition `sk > now` skips ended templates without reading them."""

    BASE_NAME = "coupon-template-index"

    class Meta:
        table_name = "coupon-template-index"

    bucket = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    template_id = UnicodeAttribute()


class StockShard(Model):
    """One slice of a limited template's stock. It also carries the
    template's `version` and `status` as of the template's last save (written
    in the same transaction as the template), so a claim's one write to it
    can check that its cached terms are current without touching the
    template item (see coupons/terms.py)."""

    BASE_NAME = "coupon-stock"

    class Meta:
        table_name = "coupon-stock"

    template_id = UnicodeAttribute(hash_key=True)  # "<template_id>#<shard>" (spread), or template_id
    shard = NumberAttribute(range_key=True)
    remaining = NumberAttribute()
    initial = NumberAttribute()
    tpl_version = NumberAttribute(null=True)  # TemplateRecord.version (None: written before it was carried)
    tpl_status = UnicodeAttribute(null=True)  # TemplateRecord.status: active | paused | ended


def stock_shard(template_id: str, shard: int, spread: bool, **attrs: Any) -> StockShard:
    """The stock item `shard` of a template: under its own partition key
    `<template_id>#<shard>` when `spread` (TemplateRecord.shard_keys), else
    under `template_id` (templates created before)."""
    return StockShard(f"{template_id}#{shard}" if spread else template_id, shard, **attrs)


class ClaimCount(Model):
    BASE_NAME = "coupon-claim-counts"

    class Meta:
        table_name = "coupon-claim-counts"

    member_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    claimed = NumberAttribute(null=True)


class ByMember(GlobalSecondaryIndex["CouponRecord"]):
    class Meta:
        index_name = "by_member"
        projection = AllProjection()

    member_id = UnicodeAttribute(hash_key=True)
    claimed_at = UTCDateTimeAttribute(range_key=True)


class CouponsByTemplate(GlobalSecondaryIndex["CouponRecord"]):
    """Claims of a template by time (keys only): per-template stats."""

    class Meta:
        index_name = "by_template"
        projection = KeysOnlyProjection()

    template_id = UnicodeAttribute(hash_key=True)
    claimed_at = UTCDateTimeAttribute(range_key=True)


class CouponRecord(Model):
    """An issued coupon. Terms are copied from the template at claim time so
    a later template edit never changes a coupon already held."""

    BASE_NAME = "coupons"

    class Meta:
        table_name = "coupons"
        # claims, redemptions and reversals feed derived figures off the write
        # path (stats/tier_stream.py: redemption rate by member tier)
        stream_view_type = "NEW_AND_OLD_IMAGES"

    coupon_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    store_id = UnicodeAttribute()  # where it was claimed
    timezone = UnicodeAttribute()  # of that store, to render times locally
    title = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = NumberAttribute()  # boosted value if claimed on member day
    boosted = NumberAttribute(default=0)
    min_spend_fen = NumberAttribute()
    scope_store_ids = _strings(default=list)
    scope_traffic_tiers = _strings(default=list)
    scope_spend_tiers = _strings(default=list)
    claimed_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # claimed | redeemed ("expired" is derived at read time)
    redemption_id = UnicodeAttribute(null=True)
    short_code = UnicodeAttribute(null=True)  # digits staff can type; see short_codes.py

    by_member = ByMember()
    by_template = CouponsByTemplate()


class ByStoreDay(GlobalSecondaryIndex["RedemptionRecord"]):
    class Meta:
        index_name = "by_store_day"
        projection = AllProjection()

    store_day = UnicodeAttribute(hash_key=True)
    redeemed_at = UTCDateTimeAttribute(range_key=True)


class RedemptionsByTemplate(GlobalSecondaryIndex["RedemptionRecord"]):
    """Redemptions of a template by time: per-template stats."""

    class Meta:
        index_name = "by_template"
        projection = AllProjection()

    template_id = UnicodeAttribute(hash_key=True)
    redeemed_at = UTCDateTimeAttribute(range_key=True)


class RedemptionRecord(Model):
    BASE_NAME = "coupon-redemptions"

    class Meta:
        table_name = "coupon-redemptions"

    redemption_id = UnicodeAttribute(hash_key=True)
    coupon_id = UnicodeAttribute()
    template_id = UnicodeAttribute()
    member_id = UnicodeAttribute()
    store_id = UnicodeAttribute()  # the redeeming (staff's) store
    store_day = UnicodeAttribute()  # store_id + "#" + store-local date
    timezone = UnicodeAttribute()
    staff_id = UnicodeAttribute()
    order_ref = UnicodeAttribute(null=True)
    spend_fen = NumberAttribute(null=True)
    discount_fen = NumberAttribute()
    redeemed_at = UTCDateTimeAttribute()
    status = UnicodeAttribute()  # redeemed | reversed
    reversed_at = UTCDateTimeAttribute(null=True)
    reversed_by = UnicodeAttribute(null=True)
    reversal_id = UnicodeAttribute(null=True)  # from the reversal's Idempotency-Key: a retry knows its own

    by_store_day = ByStoreDay()
    by_template = RedemptionsByTemplate()


class AuditRecord(Model):
    """Append-only: `event_key` = redemption_id + "#" + event, written with
    attribute_not_exists, so the same event can never be recorded twice."""

    BASE_NAME = "coupon-audit"

    class Meta:
        table_name = "coupon-audit"

    coupon_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    event = UnicodeAttribute()  # redeemed | reversed
    redemption_id = UnicodeAttribute()
    store_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    discount_fen = NumberAttribute(null=True)
    order_ref = UnicodeAttribute(null=True)


class ShortCodeRecord(Model):
    """A coupon's short numeric code, reserved in the claim transaction
    (`attribute_not_exists OR expired`), so two live coupons never share one.
    DynamoDB's TTL removes it some time after the coupon expires."""

    BASE_NAME = "coupon-short-codes"

    class Meta:
        table_name = "coupon-short-codes"

    short_code = UnicodeAttribute(hash_key=True)
    coupon_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    ttl = TTLAttribute(null=True)
    code = UnicodeAttribute(null=True)  # the coupon's signed code (v2: its terms inside); see short_codes.py


class GuessCounter(Model):
    """Wrong short codes typed by one staff member in one window; a guarded
    ADD (`n < limit`) caps it, so at most `limit` wrong guesses per window."""

    BASE_NAME = "coupon-guess-counters"

    class Meta:
        table_name = "coupon-guess-counters"

    key = UnicodeAttribute(hash_key=True)  # staff_id + "#" + window start
    n = NumberAttribute(null=True)
    ttl = TTLAttribute(null=True)
    # one token per counted guess (≤ limit per window): a re-send of an ADD
    # whose answer was lost finds its own token and is not counted again
    guesses = UnicodeSetAttribute(null=True)


MODELS = [TemplateRecord, TemplateIndexEntry, StockShard, ClaimCount, CouponRecord, RedemptionRecord, AuditRecord,
          ShortCodeRecord, GuessCounter]
