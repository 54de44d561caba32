"""Claiming a coupon, and the member's wallet.

A claim is ONE DynamoDB request on the happy path: a TransactWriteItems of
six items (coupon, short code, stock shard, claim count, day stats, store
check). The template item is NOT one of them when the template has stock:
the version guard rides on the stock shard the claim decrements. The
template's and the store's terms come from the container's cache
(`coupons/terms.py`) and are re-checked inside the same transaction, so
nothing is read before the write. Timeline of what each item guards
against (two processes A and B, same template, stock 1):

  A: terms cached, picks shard k     B: terms cached, picks shard k
  A commits: shard k -> 0, A's claim count 0 -> 1, coupon A put
  B commits: `remaining > 0` on shard k is now false -> the whole
             transaction is cancelled: no count bump, no coupon, no stats.
  B reads every shard (consistent): all 0 -> sold_out. Otherwise it retries
             on a shard that still has stock.

- template  the terms are the current version: `tpl_version = cached
            version AND tpl_status = active` on the stock shard (the same
            condition as `remaining > 0`, on the same item; every template
            save rewrites all shards with it, in one transaction). An edit,
            pause or end since we cached it cancels the claim; the shard as
            it stood (ALL_OLD) says whether it was the version (re-read the
            template, retry) or the stock. Unlimited templates, and those
            saved before shards carried the version, ConditionCheck the
            template item itself (`version = cached version`): a hot item
            at ~500 claims/s, so a flash sale gets stock.
- store     ConditionCheck on the store terms the coupon depends on. Hot
            per store only (as hot as that store's day-stats item, which
            every claim there writes anyway): a sale spread over stores
            spreads it.
- stock     `remaining > 0` on the shard: no oversell, whatever the interleaving.
- limit     `claimed < per_member_limit` (or no count yet) on the member's
            count item: parallel claims by one member serialise on it.
- coupon    `attribute_not_exists(coupon_id)`, ALL_OLD on failure: with an
            Idempotency-Key the coupon id is derived from it, so a retry of
            a claim whose answer was lost finds its own coupon and answers
            as the first attempt did (no second unit of stock, no second
            count against the limit). Without a key the id is random.
- stats     counter ADDs commit with the claim, so counts never drift.

A TransactionConflict is contention, not a refusal: `retry.attempts()`
(full jitter within the request's budget) on a freshly picked shard. A send
whose answer was lost is re-sent with the same token by `txn.Transaction`.
"""

from __future__ import annotations

import random
from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import counters, request_scope, retry
from chalicelib.clock import local_time
from chalicelib.coupons import rules, shards, short_codes, terms
from chalicelib.coupons.audience import admits
from chalicelib.coupons.codes import new_coupon_id
from chalicelib.coupons.errors import LimitReached, NotEligible, NotInScope, SoldOut
from chalicelib.coupons.models import ClaimCount, CouponRecord, StockShard, TemplateRecord, stock_shard
from chalicelib.coupons.templates import check_claimable, resync_shards, scope_of
from chalicelib.errors import StoreloopError
from chalicelib.stores.models import StoreRecord
from chalicelib.txn import Contended, Refused, Transaction

_rng = random.SystemRandom()


def claim(template_id: str, store_id: str, member_id: str, now: datetime) -> CouponRecord:
    derived = request_scope.derived_id("", "claim", template_id, store_id, member_id)
    coupon_id = derived or new_coupon_id()
    eligible_for: int | None = None  # template version whose audience check passed
    confirmed = False  # a refusal decided on cached terms is re-decided once on fresh ones
    for _ in retry.attempts(what="the claim"):
        template = terms.template(template_id)
        store = terms.store(store_id)
        try:
            rules.check_claim_window(template.claim_start, template.claim_end, now, store.timezone)
            check_claimable(template)  # paused or ended by the operator (bumps the version: the guard sees it)
            if not scope_of(template).covers(store.store_id, store.traffic_tier, store.spend_tier):
                raise NotInScope(f"template {template_id} is not offered at store {store_id}")
            if (template.audience_tiers or template.audience_segments) and eligible_for != template.version:
                if not admits(template, member_id, now):  # by tier or RFM segment (coupons/audience.py)
                    raise NotEligible()
                eligible_for = template.version
            shard = None
            if template.total_stock is not None:
                shard = shards.pick_shard(int(template.stock_shards), terms.stock_hint(template_id), _rng)
                if shard is None:
                    _check_limit(template, member_id)  # the precise refusal: a member at the limit hears so
                    raise SoldOut()
        except StoreloopError:
            if not confirmed:
                # the cache may predate a resume, an edit or a store change: no
                # transaction ran, so no version guard could have noticed
                confirmed = True
                terms.forget_template(template_id)
                terms.forget_store(store_id)
                continue
            held = _own_commit(derived, member_id, template_id)
            if held is not None:
                return held
            raise
        coupon = _issue(template, store, member_id, now, coupon_id)
        tx = _claim_transaction(template, store, coupon, shard, now)
        try:
            tx.commit()
        except Contended:
            continue
        except Refused as exc:
            # stale terms first: every other refusal (the limit above all) was decided on them
            shard_stale = (exc.on("stock") and terms.guards_on_shard(template)
                           and terms.stale_on_shard(template, exc.old("stock")))
            if shard_stale and terms.shard_behind(template, exc.old("stock")):
                resync_shards(template_id)  # the template was written without its shards: repair
            if exc.on("template") or shard_stale:
                terms.forget_template(template_id)  # edited, paused or ended since cached
                continue
            if exc.on("store"):
                terms.forget_store(store_id)
                continue
            if exc.on("coupon"):
                existing: CouponRecord | None = exc.old("coupon")
                if existing is not None and existing.member_id == member_id and existing.template_id == template_id:
                    return existing  # our own earlier commit (its answer was lost): the same answer
                coupon_id = new_coupon_id()  # an id collision with someone else's coupon
                continue
            if exc.on("short_code"):
                continue  # digits held by a live coupon: the next attempt draws new ones
            if exc.on("limit"):
                held = _own_commit(derived, member_id, template_id)
                if held is not None:
                    return held
                raise LimitReached(f"limit of {int(template.per_member_limit)} per member") from None
            if exc.on("stock"):
                terms.read_stock(template_id)  # authoritative: stock never grows
                continue
            raise
        if shard is not None:
            terms.took(template_id, shard)
        return coupon
    raise AssertionError("retry.attempts() ends by raising")


def _check_limit(template: TemplateRecord, member_id: str) -> None:
    try:
        count = ClaimCount.get(member_id, template.template_id, consistent_read=True)
    except DoesNotExist:
        return
    if count.claimed is not None and int(count.claimed) >= int(template.per_member_limit):
        raise LimitReached(f"limit of {int(template.per_member_limit)} per member")


def _own_commit(derived: str | None, member_id: str, template_id: str) -> CouponRecord | None:
    """Before refusing a request that carries an Idempotency-Key, look for
    the coupon an earlier attempt of it committed (one GetItem, on refusals
    only): the stock may have sold out, or the limit filled, with it."""
    if derived is None:
        return None
    try:
        held = CouponRecord.get(derived, consistent_read=True)
    except DoesNotExist:
        return None
    return held if held.member_id == member_id and held.template_id == template_id else None


def _issue(template: TemplateRecord, store: StoreRecord, member_id: str, now: datetime,
           coupon_id: str) -> CouponRecord:
    """The coupon as issued: a frozen copy of the terms it depends on."""
    member_day = rules.is_member_day(store.member_day, now, store.timezone)
    boost = None if template.boost_value is None else int(template.boost_value)
    value, boosted = rules.claim_value(int(template.value), boost, member_day)
    valid_days = None if template.valid_days is None else int(template.valid_days)
    return CouponRecord(
        coupon_id, member_id=member_id, template_id=template.template_id, store_id=store.store_id,
        timezone=store.timezone, title=template.title, kind=template.kind, value=value, boosted=int(boosted),
        min_spend_fen=int(template.min_spend_fen), scope_store_ids=list(template.scope_store_ids or []),
        scope_traffic_tiers=list(template.scope_traffic_tiers or []),
        scope_spend_tiers=list(template.scope_spend_tiers or []), claimed_at=now,
        expires_at=rules.expires_at(now, valid_days, template.valid_until), status="claimed",
        short_code=short_codes.new_code())


def _claim_transaction(template: TemplateRecord, store: StoreRecord, coupon: CouponRecord,
                       shard: int | None, now: datetime) -> Transaction:
    tx = Transaction()
    on_shard = shard is not None and terms.guards_on_shard(template)
    if not on_shard:
        terms.guard_template(tx, template)  # unlimited (or not yet migrated): the template item itself
    terms.guard_store(tx, store)
    tx.put("coupon", coupon, condition=CouponRecord.coupon_id.does_not_exist(), old=True)
    tx.put("short_code", short_codes.reservation(coupon), condition=short_codes.free(now))
    if shard is not None:
        tx.update("stock", stock_shard(template.template_id, shard, bool(template.shard_keys)),
                  [StockShard.remaining.add(-1)],
                  condition=terms.shard_guard(template) if on_shard else StockShard.remaining > 0, old=on_shard)
    limit = int(template.per_member_limit)
    tx.update("limit", ClaimCount(coupon.member_id, template.template_id), [ClaimCount.claimed.add(1)],
              condition=ClaimCount.claimed.does_not_exist() | (ClaimCount.claimed < limit))
    day = local_time(now, store.timezone).date()
    if template.kind == "clearance":
        counters.bump_in(tx, store.store_id, day, coupons_claimed=1, clearance_units_claimed=1)
    else:
        counters.bump_in(tx, store.store_id, day, coupons_claimed=1)
    return tx


def wallet(member_id: str, now: datetime, status: str | None = None) -> list[tuple[CouponRecord, str]]:
    """(coupon, status as of now), newest first. Expiry is derived, not swept."""
    out = []
    for coupon in CouponRecord.by_member.query(member_id, scan_index_forward=False):
        current = rules.coupon_status(coupon.status, coupon.expires_at, now)
        if status is None or current == status:
            out.append((coupon, current))
    return out
