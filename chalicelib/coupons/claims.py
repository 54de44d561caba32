"""Claiming a coupon, and the member's wallet.

A claim is one TransactWrite of up to four items. Timeline of what each
condition guards against (two processes A and B, same template, stock 1):

  A reads template + store      B reads template + store
  A: shard k remaining 1 > 0    B: shard k remaining 1 > 0 (both "saw" stock)
  A commits: shard k -> 0, A's claim count 0 -> 1, coupon A put
  B commits: `remaining > 0` on shard k is now false -> the whole
             transaction is cancelled: no count bump, no coupon, no stats.
  B reads every shard (consistent): all 0 -> sold_out. Otherwise it retries
             on a shard that still has stock.

- stock   `remaining > 0` on the shard: no oversell, whatever the interleaving.
- limit   `claimed < per_member_limit` (or no count yet) on the member's
          count item: parallel claims by one member serialise on it.
- coupon  `attribute_not_exists(coupon_id)`: a fresh random id never
          overwrites a coupon (belt and braces against an id collision).
- stats   counter ADDs commit with the claim, so counts never drift.
DynamoDB cancels a transaction that touches an item another transaction
holds (TransactionConflict); that is contention, not a refusal: retry with
jittered backoff on a freshly picked shard.
"""

from __future__ import annotations

import random
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib.clock import local_time
from chalicelib.coupons import rules, shards, short_codes
from chalicelib.coupons.audience import caller_tier
from chalicelib.coupons.codes import new_coupon_id
from chalicelib.coupons.errors import Busy, LimitReached, NotEligible, NotInScope, SoldOut
from chalicelib.coupons.models import ClaimCount, CouponRecord, StockShard, TemplateRecord
from chalicelib.coupons.templates import check_claimable, scope_of, shard_stock
from chalicelib.coupons.txn import CONDITION_FAILED, LabeledTransaction, backoff, get_many, is_contention
from chalicelib.errors import NotFound
from chalicelib.stores.models import StoreRecord

MAX_ATTEMPTS = 40
_rng = random.SystemRandom()


def claim(template_id: str, store_id: str, member_id: str, now: datetime) -> CouponRecord:
    template, store = get_many((TemplateRecord, template_id), (StoreRecord, store_id))
    if template is None:
        raise NotFound(f"coupon template {template_id} not found")
    if store is None:
        raise NotFound(f"store {store_id} not found")
    rules.check_claim_window(template.claim_start, template.claim_end, now, store.timezone)
    check_claimable(template)  # paused or ended by the operator
    if not scope_of(template).covers(store.store_id, store.traffic_tier, store.spend_tier):
        raise NotInScope(f"template {template_id} is not offered at store {store_id}")
    if template.audience_tiers and caller_tier(member_id, now) not in template.audience_tiers:
        raise NotEligible()
    coupon = _issue(template, store, member_id, now)
    known: dict[int, int] | None = None
    for attempt in range(MAX_ATTEMPTS):
        shard = None
        if template.total_stock is not None:
            shard = shards.pick_shard(int(template.stock_shards), known, _rng)
            if shard is None:
                raise SoldOut()
        tx = _claim_transaction(template, store, coupon, shard, now)
        try:
            tx.commit()
            return coupon
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            if reasons.get("short_code") == CONDITION_FAILED:  # digits held by a live coupon
                coupon.short_code = short_codes.new_code()
                continue
            if reasons.get("limit") == CONDITION_FAILED:
                raise LimitReached(f"limit of {int(template.per_member_limit)} per member") from exc
            if reasons.get("stock") == CONDITION_FAILED:
                known = shard_stock(template.template_id)  # authoritative: stock never grows
                continue
            if not is_contention(exc, reasons):
                raise
            backoff(attempt, _rng)
    raise Busy()


def _issue(template: TemplateRecord, store: StoreRecord, member_id: str, now: datetime) -> CouponRecord:
    """The coupon as issued: a frozen copy of the terms it depends on."""
    member_day = rules.is_member_day(store.member_day, now, store.timezone)
    boost = None if template.boost_value is None else int(template.boost_value)
    value, boosted = rules.claim_value(int(template.value), boost, member_day)
    valid_days = None if template.valid_days is None else int(template.valid_days)
    return CouponRecord(
        new_coupon_id(), member_id=member_id, template_id=template.template_id, store_id=store.store_id,
        timezone=store.timezone, title=template.title, kind=template.kind, value=value, boosted=int(boosted),
        min_spend_fen=int(template.min_spend_fen), scope_store_ids=list(template.scope_store_ids or []),
        scope_traffic_tiers=list(template.scope_traffic_tiers or []),
        scope_spend_tiers=list(template.scope_spend_tiers or []), claimed_at=now,
        expires_at=rules.expires_at(now, valid_days, template.valid_until), status="claimed",
        short_code=short_codes.new_code())


def _claim_transaction(template: TemplateRecord, store: StoreRecord, coupon: CouponRecord,
                       shard: int | None, now: datetime) -> LabeledTransaction:
    tx = LabeledTransaction()
    tx.put("coupon", coupon, CouponRecord.coupon_id.does_not_exist())
    tx.put("short_code", short_codes.reservation(coupon), short_codes.free(now))
    if shard is not None:
        tx.update("stock", StockShard(template.template_id, shard), [StockShard.remaining.add(-1)],
                  StockShard.remaining > 0)
    limit = int(template.per_member_limit)
    tx.update("limit", ClaimCount(coupon.member_id, template.template_id), [ClaimCount.claimed.add(1)],
              ClaimCount.claimed.does_not_exist() | (ClaimCount.claimed < limit))
    counts = {"coupons_claimed": 1}
    if template.kind == "clearance":
        counts["clearance_units_claimed"] = 1
    tx.bump(store.store_id, local_time(now, store.timezone).date(), **counts)
    return tx


def wallet(member_id: str, now: datetime, status: str | None = None) -> list[tuple[CouponRecord, str]]:
    """(coupon, status as of now), newest first. Expiry is derived, not swept."""
    out = []
    for coupon in CouponRecord.by_member.query(member_id, scan_index_forward=False):
        current = rules.coupon_status(coupon.status, coupon.expires_at, now)
        if status is None or current == status:
            out.append((coupon, current))
    return out
