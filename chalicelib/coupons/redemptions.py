"""Staff redemption (at most once, ever) and its reversal (at most once).

Redeem, one TransactWrite; timeline for two devices scanning one code:

  A verifies the code (no I/O), reads coupon: claimed
  B verifies the code, reads coupon: claimed (both saw "claimed")
  A commits: coupon claimed -> redeemed (rid A), redemption A put, audit put
  B commits: `status = claimed` fails -> cancelled, nothing written;
             B re-reads: redeemed -> already_redeemed.

- coupon      `status = claimed AND expires_at > now`: once, and never after
              expiry even if the expiry passes between read and write.
- redemption  `attribute_not_exists`: a fresh id never overwrites history.
- audit       `attribute_not_exists` on (coupon, rid#redeemed): append-only.

Reverse: `status = redeemed` on the redemption (and an audit key
rid#reversed that can only be written once) makes a reversal happen once;
`redemption_id = rid` on the coupon makes sure we return the coupon this
redemption consumed, not a later one.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.auth import Principal
from chalicelib.clock import for_people, local_time
from chalicelib.coupons import codes, rules
from chalicelib.coupons.errors import (
    AlreadyRedeemed,
    AlreadyReversed,
    Busy,
    CouponExpired,
    ReversalWindowClosed,
    WrongStore,
)
from chalicelib.coupons.models import AuditRecord, CouponRecord, RedemptionRecord
from chalicelib.coupons.txn import CONDITION_FAILED, LabeledTransaction, backoff, get_many, is_contention
from chalicelib.errors import NotFound
from chalicelib.settings import get_settings
from chalicelib.stores.models import StoreRecord

REVERSAL_WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 20
_rng = random.SystemRandom()


def code_key() -> bytes:
    return codes.derive_key(get_settings().jwt_secret)


def get_coupon(coupon_id: str) -> CouponRecord:
    try:
        return CouponRecord.get(coupon_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"coupon {coupon_id} not found") from exc


def _check_redeemable(coupon: CouponRecord, now: datetime) -> None:
    status = rules.coupon_status(coupon.status, coupon.expires_at, now)
    if status == "redeemed":
        raise AlreadyRedeemed()
    if status == "expired":
        raise CouponExpired(f"expired at {for_people(coupon.expires_at, coupon.timezone)}")


def redeem(code: str, staff: Principal, now: datetime, spend_fen: int | None = None,
           order_ref: str | None = None) -> RedemptionRecord:
    coupon_id = codes.verify(code, code_key())  # forged or altered: refused before any read
    assert staff.store_id is not None
    coupon, store = get_many((CouponRecord, coupon_id), (StoreRecord, staff.store_id))
    if coupon is None:
        raise NotFound(f"coupon {coupon_id} not found")
    if store is None:
        raise NotFound(f"store {staff.store_id} not found")
    scope = rules.Scope.of(coupon.scope_store_ids or (), coupon.scope_traffic_tiers or (),
                           coupon.scope_spend_tiers or ())
    if not scope.covers(store.store_id, store.traffic_tier, store.spend_tier):
        raise WrongStore(f"coupon {coupon_id} is not valid at store {store.store_id}")
    _check_redeemable(coupon, now)
    discount = rules.discount_fen(coupon.kind, int(coupon.value), int(coupon.min_spend_fen), spend_fen)
    day = local_time(now, store.timezone).date()
    record = RedemptionRecord(
        uuid.uuid4().hex, coupon_id=coupon_id, template_id=coupon.template_id, member_id=coupon.member_id,
        store_id=store.store_id, store_day=f"{store.store_id}#{day.isoformat()}", timezone=store.timezone,
        staff_id=staff.sub, order_ref=order_ref, spend_fen=spend_fen, discount_fen=discount,
        redeemed_at=now, status="redeemed")
    for attempt in range(MAX_ATTEMPTS):
        tx = LabeledTransaction()
        tx.put("redemption", record, RedemptionRecord.redemption_id.does_not_exist())
        tx.put("audit", _audit(record, "redeemed", staff, now), AuditRecord.event_key.does_not_exist())
        tx.update("coupon", CouponRecord(coupon_id), [
            CouponRecord.status.set("redeemed"), CouponRecord.redemption_id.set(record.redemption_id)],
            (CouponRecord.status == "claimed") & (CouponRecord.expires_at > now))
        tx.bump(store.store_id, day, coupons_redeemed=1)
        try:
            tx.commit()
            return record
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            if reasons.get("coupon") == CONDITION_FAILED:
                _check_redeemable(get_coupon(coupon_id), now)  # raises the precise refusal
                continue  # reversed in between: claimed again, try again
            if not is_contention(exc, reasons):
                raise
            backoff(attempt, _rng)
    raise Busy()


def _audit(record: RedemptionRecord, event: str, actor: Principal, now: datetime) -> AuditRecord:
    return AuditRecord(
        record.coupon_id, f"{record.redemption_id}#{event}", event=event, redemption_id=record.redemption_id,
        store_id=record.store_id, actor_id=actor.sub, actor_role=actor.role, at=now,
        discount_fen=int(record.discount_fen), order_ref=record.order_ref)


def get_redemption(redemption_id: str) -> RedemptionRecord:
    try:
        return RedemptionRecord.get(redemption_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"redemption {redemption_id} not found") from exc


def reverse(redemption_id: str, actor: Principal, now: datetime) -> tuple[RedemptionRecord, str]:
    """Undo a redemption (e.g. the order was refunded): the coupon goes back
    to the member, as `claimed` (or shown `expired` if its validity passed).
    Returns the redemption and the coupon's status now."""
    record = get_redemption(redemption_id)
    actor.require_store(record.store_id)
    if record.status == "reversed":
        raise AlreadyReversed()
    if not rules.within(now, record.redeemed_at, REVERSAL_WINDOW):
        raise ReversalWindowClosed()
    # counted on the day of the redemption it undoes: a day's stats equal its redemption log
    day = local_time(record.redeemed_at, record.timezone).date()
    for attempt in range(MAX_ATTEMPTS):
        tx = LabeledTransaction()
        tx.put("audit", _audit(record, "reversed", actor, now), AuditRecord.event_key.does_not_exist())
        tx.update("redemption", RedemptionRecord(redemption_id), [
            RedemptionRecord.status.set("reversed"), RedemptionRecord.reversed_at.set(now),
            RedemptionRecord.reversed_by.set(actor.sub)],
            (RedemptionRecord.status == "redeemed") & (RedemptionRecord.redeemed_at >= now - REVERSAL_WINDOW))
        tx.update("coupon", CouponRecord(record.coupon_id), [
            CouponRecord.status.set("claimed"), CouponRecord.redemption_id.remove()],
            CouponRecord.redemption_id == redemption_id)
        tx.bump(record.store_id, day, redemptions_reversed=1)
        try:
            tx.commit()
            break
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            if reasons.get("redemption") == CONDITION_FAILED:
                # still redeemed: the 24 h window closed between our check and the commit
                current = RedemptionRecord.get(redemption_id, consistent_read=True)
                raise (ReversalWindowClosed() if current.status == "redeemed" else AlreadyReversed()) from exc
            if CONDITION_FAILED in (reasons.get("audit"), reasons.get("coupon")):
                raise AlreadyReversed() from exc
            if not is_contention(exc, reasons):
                raise
            backoff(attempt, _rng)
    else:
        raise Busy()
    record.status, record.reversed_at, record.reversed_by = "reversed", now, actor.sub
    coupon = get_coupon(record.coupon_id)
    return record, rules.coupon_status(coupon.status, coupon.expires_at, now)


def store_redemptions(store_id: str, day: str) -> list[RedemptionRecord]:
    """One store's redemptions on a store-local date: a GSI Query, not a Scan."""
    return list(RedemptionRecord.by_store_day.query(f"{store_id}#{day}"))
