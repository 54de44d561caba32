"""Staff redemption (at most once, ever) and its reversal (at most once).

Redeem: ONE TransactWriteItems, nothing read first. The scanned code (v2,
`codes.py`) carries the coupon's frozen terms (template, member, kind,
value, min spend) under its MAC, the staff's store comes from the
container's cache (`coupons/terms.py`) and is re-checked inside the
transaction, and everything that a read used to decide is a condition of
the write. Timeline for two devices scanning one code:

  A verifies the code (no I/O): coupon id + terms
  B verifies the code (no I/O)
  A commits: coupon claimed -> redeemed (rid A), redemption A put, audit put
  B commits: the coupon's condition fails -> cancelled, nothing written; the
             coupon as it stood comes back with the refusal (ALL_OLD):
             redeemed by A -> already_redeemed.

- coupon      `status = claimed AND expires_at > now AND in_scope(store)`:
              once, never after expiry, only at a store of its scope (the
              copied scope lists, `in_scope`, exact against Scope.covers).
- redemption  `attribute_not_exists`: an id never overwrites history. With an
              Idempotency-Key the id is derived from it (and the coupon and
              the staff member), so a retry of a redemption whose answer was
              lost finds its own redemption in the refusal (ALL_OLD) and
              answers 201 with the first redemption, not 409 already_redeemed.
- audit       `attribute_not_exists` on (coupon, rid#redeemed): append-only.
- store       the terms the redemption used (scope tiers, timezone).

A refusal is named from the strongly consistent ALL_OLD coupon, in the
order the API always used: own redemption, wrong_store, already_redeemed /
expired (then min spend). A v1 code (the id only) reads the coupon first
(eventually consistent: its terms never change; a refusal only on a
consistent read), so does a v2 code whose min spend / percent-off check
fails (that refusal must not win over the coupon's own).

Reverse: `status = redeemed` on the redemption (and an audit key
rid#reversed that can only be written once) makes a reversal happen once;
`redemption_id = rid` on the coupon makes sure we return the coupon this
redemption consumed, not a later one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import size

from chalicelib import counters, request_scope, retry
from chalicelib.auth import Principal
from chalicelib.clock import for_people, local_time
from chalicelib.coupons import codes, rules, terms
from chalicelib.coupons.errors import (
    AlreadyRedeemed,
    AlreadyReversed,
    CouponExpired,
    ReversalWindowClosed,
    WrongStore,
)
from chalicelib.coupons.models import AuditRecord, CouponRecord, RedemptionRecord
from chalicelib.errors import NotFound, StoreloopError
from chalicelib.settings import get_settings
from chalicelib.stores.models import StoreRecord
from chalicelib.txn import Contended, Refused, Transaction

REVERSAL_WINDOW = timedelta(hours=24)


def code_key() -> bytes:
    return codes.derive_key(get_settings().jwt_secret)


def code_for(coupon: CouponRecord, key: bytes | None = None) -> str:
    """The code the member's QR shows for this coupon: v2 (its terms inside,
    so redeeming it reads nothing first), v1 if they do not fit."""
    return codes.sign_terms(coupon.coupon_id, terms_of(coupon), key or code_key())


def terms_of(coupon: CouponRecord) -> codes.Terms:
    return codes.Terms(template_id=coupon.template_id, member_id=coupon.member_id, kind=coupon.kind,
                       value=int(coupon.value), min_spend_fen=int(coupon.min_spend_fen))


def get_coupon(coupon_id: str, consistent: bool = True) -> CouponRecord:
    try:
        return CouponRecord.get(coupon_id, consistent_read=consistent)
    except DoesNotExist as exc:
        raise NotFound(f"coupon {coupon_id} not found") from exc


def check_redeemable_at(coupon: CouponRecord, store: StoreRecord, now: datetime) -> None:
    """The coupon's own refusals, named in this order: not valid at this
    store, already redeemed, expired (redeem, and the preview, which answers
    what redeem would)."""
    if not _scope(coupon).covers(store.store_id, store.traffic_tier, store.spend_tier):
        raise WrongStore(f"coupon {coupon.coupon_id} is not valid at store {store.store_id}")
    _check_redeemable(coupon, now)


def _check_redeemable(coupon: CouponRecord, now: datetime) -> None:
    status = rules.coupon_status(coupon.status, coupon.expires_at, now)
    if status == "redeemed":
        raise AlreadyRedeemed()
    if status == "expired":
        raise CouponExpired(f"expired at {for_people(coupon.expires_at, coupon.timezone)}")


def _scope(coupon: CouponRecord) -> rules.Scope:
    return rules.Scope.of(coupon.scope_store_ids or (), coupon.scope_traffic_tiers or (),
                          coupon.scope_spend_tiers or ())


def in_scope(store: StoreRecord) -> Any:
    """`rules.Scope.covers(store)` as a condition on the coupon item's copied
    scope lists (tested exhaustively against `covers` on DynamoDB Local):
    everywhere, or listed by id, or some tier list given and every given
    one holding the store's tier."""
    def empty(attr: Any) -> Any:
        return attr.does_not_exist() | (size(attr) == 0)

    ids, tt, st = CouponRecord.scope_store_ids, CouponRecord.scope_traffic_tiers, CouponRecord.scope_spend_tiers
    everywhere = empty(ids) & empty(tt) & empty(st)
    tiers = (~empty(tt) | ~empty(st)) & (empty(tt) | tt.contains(store.traffic_tier)) & (
        empty(st) | st.contains(store.spend_tier))
    return everywhere | ids.contains(store.store_id) | tiers


def redeem(code: str, staff: Principal, now: datetime, spend_fen: int | None = None,
           order_ref: str | None = None) -> RedemptionRecord:
    decoded = codes.read(code, code_key())  # forged or altered: refused before any read
    coupon_id = decoded.coupon_id
    assert staff.store_id is not None
    redemption_id = request_scope.derived_id("r", "redeem", coupon_id, staff.sub) or uuid.uuid4().hex
    # What we know of the coupon item. A v2 code carries the terms: nothing is
    # read, the transaction's conditions decide, and a refusal hands back the
    # item (ALL_OLD) for Python to name. A v1 code carries only the id: one
    # eventually consistent read for the terms (they never change).
    coupon: CouponRecord | None = None
    consistent = False
    if decoded.terms is None:
        try:
            coupon = get_coupon(coupon_id, consistent=False)
        except NotFound:
            coupon, consistent = get_coupon(coupon_id), True  # claimed a moment ago, not yet replicated?
    elif not _discount_given(decoded.terms, spend_fen):
        # a refusal that needs no read (min spend) would otherwise win over the
        # coupon's own (wrong store, already redeemed, expired): decide on the item
        coupon, consistent = get_coupon(coupon_id), True
    for _ in retry.attempts(what="the redemption"):
        store = terms.store(staff.store_id)
        if coupon is not None:
            if coupon.redemption_id == redemption_id:
                return get_redemption(redemption_id)  # our own earlier commit: the same answer
            try:
                check_redeemable_at(coupon, store, now)  # WrongStore goes up as it is
            except (AlreadyRedeemed, CouponExpired):
                if consistent:
                    raise
                coupon, consistent = get_coupon(coupon_id), True  # refuse on a strongly consistent read only
                continue
        held = decoded.terms or terms_of(_known(coupon))
        discount = rules.discount_fen(held.kind, held.value, held.min_spend_fen, spend_fen)
        day = local_time(now, store.timezone).date()
        record = RedemptionRecord(
            redemption_id, coupon_id=coupon_id, template_id=held.template_id, member_id=held.member_id,
            store_id=store.store_id, store_day=f"{store.store_id}#{day.isoformat()}", timezone=store.timezone,
            staff_id=staff.sub, order_ref=order_ref, spend_fen=spend_fen, discount_fen=discount,
            redeemed_at=now, status="redeemed")
        tx = Transaction()
        terms.guard_store(tx, store)
        tx.put("redemption", record, condition=RedemptionRecord.redemption_id.does_not_exist(), old=True)
        tx.put("audit", _audit(record, "redeemed", staff, now), condition=AuditRecord.event_key.does_not_exist())
        tx.update("coupon", CouponRecord(coupon_id), [
            CouponRecord.status.set("redeemed"), CouponRecord.redemption_id.set(redemption_id)],
            condition=(CouponRecord.status == "claimed") & (CouponRecord.expires_at > now) & in_scope(store),
            old=True)
        counters.bump_in(tx, store.store_id, day, coupons_redeemed=1)
        try:
            tx.commit()
            return record
        except Contended:
            continue
        except Refused as exc:
            if exc.on("store"):
                terms.forget_store(staff.store_id)
                continue
            if exc.on("redemption"):
                mine: RedemptionRecord | None = exc.old("redemption")
                if mine is not None and mine.coupon_id == coupon_id:
                    return mine  # our own earlier commit: the same answer
            if exc.on("coupon"):
                current: CouponRecord | None = exc.old("coupon")
                if current is None:
                    raise NotFound(f"coupon {coupon_id} not found") from None
                # redeemed (by us or by someone), expired, out of this store's
                # scope, or reversed in between: the checks above name it
                coupon, consistent = current, True
                continue
            raise
    raise AssertionError("retry.attempts() ends by raising")


def _discount_given(held: codes.Terms, spend_fen: int | None) -> bool:
    try:
        rules.discount_fen(held.kind, held.value, held.min_spend_fen, spend_fen)
    except StoreloopError:
        return False
    return True


def _known(coupon: CouponRecord | None) -> CouponRecord:
    assert coupon is not None, "a v1 code reads its coupon first"
    return coupon


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
    # with an Idempotency-Key, a retry of a reversal that committed (its
    # answer lost past the request's budget) finds its own id: the same answer
    reversal_id = request_scope.derived_id("v", "reverse", redemption_id, actor.sub)
    if record.status == "reversed":
        if reversal_id is not None and record.reversal_id == reversal_id:
            return record, _coupon_status(record.coupon_id, now)
        raise AlreadyReversed()
    if not rules.within(now, record.redeemed_at, REVERSAL_WINDOW):
        raise ReversalWindowClosed()
    # counted on the day of the redemption it undoes: a day's stats equal its redemption log
    day = local_time(record.redeemed_at, record.timezone).date()
    for _ in retry.attempts(what="the reversal"):
        tx = Transaction()
        tx.put("audit", _audit(record, "reversed", actor, now), condition=AuditRecord.event_key.does_not_exist())
        undo = [RedemptionRecord.status.set("reversed"), RedemptionRecord.reversed_at.set(now),
                RedemptionRecord.reversed_by.set(actor.sub)]
        if reversal_id is not None:
            undo.append(RedemptionRecord.reversal_id.set(reversal_id))
        tx.update("redemption", RedemptionRecord(redemption_id), undo,
                  condition=(RedemptionRecord.status == "redeemed")
                  & (RedemptionRecord.redeemed_at >= now - REVERSAL_WINDOW), old=True)
        tx.update("coupon", CouponRecord(record.coupon_id), [
            CouponRecord.status.set("claimed"), CouponRecord.redemption_id.remove()],
            condition=CouponRecord.redemption_id == redemption_id)
        counters.bump_in(tx, record.store_id, day, redemptions_reversed=1)
        try:
            tx.commit()
            break
        except Contended:
            continue
        except Refused as exc:
            if exc.on("redemption"):
                current: RedemptionRecord | None = exc.old("redemption")
                if (current is not None and current.status == "reversed" and current.reversed_by == actor.sub
                        and (current.reversed_at == now
                             or (reversal_id is not None and current.reversal_id == reversal_id))):
                    break  # our own earlier send committed (its answer was lost): the same answer
                # still redeemed: the 24 h window closed between our check and the commit
                window_closed = current is not None and current.status == "redeemed"
                raise (ReversalWindowClosed() if window_closed else AlreadyReversed()) from None
            raise AlreadyReversed() from None  # the audit entry or the coupon says it happened
    record.status, record.reversed_at, record.reversed_by = "reversed", now, actor.sub
    record.reversal_id = reversal_id
    return record, _coupon_status(record.coupon_id, now)


def _coupon_status(coupon_id: str, now: datetime) -> str:
    coupon = get_coupon(coupon_id)
    return rules.coupon_status(coupon.status, coupon.expires_at, now)


def store_redemptions(store_id: str, day: str) -> list[RedemptionRecord]:
    """One store's redemptions on a store-local date: a GSI Query, not a Scan."""
    return list(RedemptionRecord.by_store_day.query(f"{store_id}#{day}"))
