"""Recording a payment exactly once per payment_id, and refunding it.

A payment is one `txn.Transaction`:
  "payment"  put, attribute_not_exists (old=True: a duplicate hands back the
             stored payment, no re-read);
  "member"   ADD orders/spend, the member must exist (members only);
  "stats"    the store's day counters;
  "facts"    the store's week item (hour slot) and, for a member, "visit"
             (distinct-member bookkeeping, insights/facts.py).
`Refused` on "payment" is a duplicate (same details) or a conflict; on
"member" a 404; on "visit" a concurrent payment of the same member moved
the visit first: re-read and go again. `Contended` goes again too, under
`retry.attempts()` (503 try_again when the request's budget is spent, never
a 500). After the commit, `last_order_at` is a guarded max and the RFM
scores are rewritten (both re-applied by a retried POST, so a crash in
between heals on the next call).

A refund is one transaction too, guarded on the payment's refunded total
as read (`refunded_fen` unchanged: a concurrent refund makes ours re-read),
so the total never exceeds what was paid:
  "refund"   put RefundRecord, attribute_not_exists (the refund id);
  "payment"  SET refunded_fen (and, when it completes the refund, move
             member_id out of the by-member index: the order stops counting
             for tiers);
  "member"   ADD spend -amount (orders -1 when completed);
  "stats"    the payment's local day: gmv -amount (payments -1 when completed);
  "facts"    the payment's hour slot: spend -amount (orders -1 when completed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import request_scope, retry
from chalicelib.clock import local_time
from chalicelib.counters import bump_in
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.insights import facts
from chalicelib.members import rfm
from chalicelib.members.models import MemberRecord
from chalicelib.members.tiers import tier_for
from chalicelib.payments.errors import OpenIdBound, PaymentConflict, RefundConflict, RefundTooLarge
from chalicelib.payments.models import OpenIdRecord, PaymentRecord, RefundRecord, payer_of
from chalicelib.payments.schemas import PaymentIn
from chalicelib.payments.tiers import orders_in_window
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.service import get_store
from chalicelib.txn import Contended, Refused, Transaction, is_condition_failure


def resolve_member(member_id: str | None, openid: str | None) -> str | None:
    """An unknown openid is 404: a payment never creates a member (a member
    exists only once they signed up in the mini-program); the POS can retry
    after the openid is bound. Neither given: a non-member payment (None)."""
    if member_id is not None or openid is None:
        return member_id
    try:
        return OpenIdRecord.get(openid).member_id
    except DoesNotExist as exc:
        raise NotFound(f"openid {openid} is not bound to a member") from exc


def bind_openid(openid: str, member_id: str, now: datetime) -> OpenIdRecord:
    """One transaction: the member must exist (an openid bound to an unknown
    member could never be re-bound, and every payment through it would be a
    404), and the openid is unbound or already this member's."""
    record = OpenIdRecord(openid, member_id=member_id, bound_at=now)
    for _ in retry.attempts(what="the openid binding"):
        tx = Transaction()
        tx.check("member", MemberRecord, member_id, condition=MemberRecord.member_id.exists())
        tx.put("openid", record,
               condition=OpenIdRecord.openid.does_not_exist() | (OpenIdRecord.member_id == member_id))
        try:
            tx.commit()
            return record
        except Contended:
            continue
        except Refused as exc:
            if exc.on("openid"):
                raise OpenIdBound(f"openid {openid} is bound to another member") from None
            raise NotFound(f"member {member_id} not found") from None
    raise AssertionError("retry.attempts() ends by raising")


def payment_transaction(payment: PaymentRecord, store: StoreRecord, last_week: str | None) -> Transaction:
    """The payment's one transaction (also used by the bench to count its items)."""
    member_id = payment.member_id
    amount = int(payment.amount_fen)
    # a fresh token per attempt: a re-POST carries another `recorded_at`, and the
    # same token with other items would be refused as a mismatch; re-posts are
    # recognised by the payment's own guard (old=True) instead
    tx = Transaction()
    tx.put("payment", payment, condition=PaymentRecord.payment_id.does_not_exist(), old=True)
    if member_id is not None:
        tx.update("member", MemberRecord(member_id), [
            MemberRecord.orders_total.add(1), MemberRecord.spend_total_fen.add(amount)],
            condition=MemberRecord.member_id.exists())
    day = local_time(payment.paid_at, store.timezone).date()
    bump_in(tx, store.store_id, day, payments=1, gmv_fen=amount)
    facts.add_payment_in(tx, store.store_id, store.timezone, payment.paid_at, amount, member_id, last_week)
    return tx


# A POS's clock may run a little ahead of ours; a payment further in the
# future is a client's mistake (a local time sent as UTC, a wrong year): it
# would pin the member's `last_order_at` (a guarded max) ahead for good.
MAX_CLOCK_AHEAD = timedelta(hours=1)


def record_payment(data: PaymentIn, now: datetime) -> tuple[PaymentRecord, bool, str | None]:
    """(payment, duplicate, the member's tier after it)."""
    if data.paid_at > now + MAX_CLOCK_AHEAD:
        raise ValidationFailed.field("paid_at", "is in the future; send the instant the payment was made, "
                                                "with its UTC offset")
    member_id = resolve_member(data.member_id, data.openid)
    store = get_store(data.store_id)
    day = local_time(data.paid_at, store.timezone).date()
    payment = PaymentRecord(data.payment_id, member_id=member_id, store_id=store.store_id,
                            amount_fen=data.amount_fen, paid_at=data.paid_at, local_day=day.isoformat(),
                            recorded_at=now)
    duplicate = False
    for _ in retry.attempts(what="recording this payment"):
        last_week = facts.last_visit_week(store.store_id, member_id) if member_id else None
        try:
            payment_transaction(payment, store, last_week).commit()
            break
        except Refused as exc:
            if exc.on("payment"):
                payment = _same_payment(exc.old("payment"), data, member_id, store.store_id)
                duplicate = True
                break
            if exc.on("member"):
                raise NotFound(f"member {member_id} not found") from exc
            continue  # "visit": a concurrent payment moved it; re-read
        except Contended:
            continue
    payer = payer_of(payment)
    if payer is None:
        return payment, duplicate, None
    _raise_last_order(payer, payment.paid_at)
    return payment, duplicate, refresh_member(payer, now)


def _same_payment(stored: PaymentRecord | None, data: PaymentIn, member_id: str | None,
                  store_id: str) -> PaymentRecord:
    if stored is None:  # cannot happen with old=True; be loud rather than wrong
        raise PaymentConflict(f"payment {data.payment_id} exists")
    if (payer_of(stored), stored.store_id, int(stored.amount_fen)) != (member_id, store_id, data.amount_fen):
        raise PaymentConflict(f"payment {data.payment_id} was recorded with other details")
    return stored


def _raise_last_order(member_id: str, paid_at: datetime) -> None:
    try:
        MemberRecord(member_id).update(
            actions=[MemberRecord.last_order_at.set(paid_at)],
            condition=MemberRecord.member_id.exists() & (
                MemberRecord.last_order_at.does_not_exist() | (MemberRecord.last_order_at < paid_at)))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def refresh_member(member_id: str, now: datetime) -> str:
    """Re-score RFM from the member's counters and the tier index, and
    return the tier. Written only if the counters it was computed from still
    stand (a concurrent payment's own refresh then wins, never a stale one)."""
    try:
        member = MemberRecord.get(member_id, consistent_read=True)
    except DoesNotExist:
        return "new"
    orders_total, spend = int(member.orders_total or 0), int(member.spend_total_fen or 0)
    recent = orders_in_window(member_id, now) if member.last_order_at else 0
    scores = rfm.score(member.last_order_at, recent, spend, orders_total, now)
    try:
        member.update(actions=[
            MemberRecord.rfm_r.set(scores.r), MemberRecord.rfm_f.set(scores.f), MemberRecord.rfm_m.set(scores.m),
            MemberRecord.rfm_segment.set(scores.segment), MemberRecord.rfm_at.set(now)],
            condition=(MemberRecord.orders_total == orders_total) & (MemberRecord.spend_total_fen == spend))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    return tier_of(member, recent)


def tier_of(member: MemberRecord, orders_30d: int) -> str:
    if not member.orders_total:
        return "new"  # never ordered, or every order refunded
    return tier_for(orders_30d, member.last_order_at)


def get_payment(payment_id: str) -> PaymentRecord:
    try:
        return PaymentRecord.get(payment_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"payment {payment_id} not found") from exc


def refund_id_for(payment_id: str, refund_id: str | None, amount_fen: int | None) -> str:
    if refund_id:
        return refund_id
    derived = request_scope.derived_id("rf", payment_id)
    if derived:
        return derived
    return "full" if amount_fen is None else f"amount-{amount_fen}"


def refund(payment_id: str, amount_fen: int | None, refund_id: str | None, by: str,
           now: datetime) -> tuple[PaymentRecord, RefundRecord, bool, str | None]:
    """(payment after, the refund, duplicate, the payer's tier after)."""
    rid = refund_id_for(payment_id, refund_id, amount_fen)
    for _ in retry.attempts(what="this refund"):
        payment = get_payment(payment_id)
        existing = _existing_refund(payment_id, rid)
        if existing is not None:
            if amount_fen is not None and int(existing.amount_fen) != amount_fen:
                raise RefundConflict(f"refund {rid} was for {int(existing.amount_fen)} fen")
            return payment, existing, True, _tier_after(payment, now)
        paid, before = int(payment.amount_fen), int(payment.refunded_fen or 0)
        amount = amount_fen if amount_fen is not None else paid - before
        if amount <= 0 or before + amount > paid:
            raise RefundTooLarge(f"paid {paid} fen, refunded {before}; cannot refund {amount} more")
        record = RefundRecord(payment_id, rid, amount_fen=amount, refunded_at=now, by=by)
        try:
            _refund_transaction(payment, record, before, store=get_store(payment.store_id)).commit()
        except (Refused, Contended):
            continue  # another refund of this payment (or this very one) got there first: re-read
        payment.refunded_fen = before + amount
        if before + amount == paid and payment.member_id:
            payment.refunded_member_id, payment.member_id = payment.member_id, None
        return payment, record, False, _tier_after(payment, now)
    raise AssertionError("unreachable: retry.attempts raises when the budget is spent")


def _existing_refund(payment_id: str, refund_id: str) -> RefundRecord | None:
    try:
        return RefundRecord.get(payment_id, refund_id, consistent_read=True)
    except DoesNotExist:
        return None


def _tier_after(payment: PaymentRecord, now: datetime) -> str | None:
    payer = payer_of(payment)
    return None if payer is None else refresh_member(payer, now)


def _refund_transaction(payment: PaymentRecord, record: RefundRecord, before: int, store: StoreRecord) -> Transaction:
    amount, paid = int(record.amount_fen), int(payment.amount_fen)
    completes = before + amount == paid
    member_id = payment.member_id
    tx = Transaction()  # re-sends are recognised by the refund id's guard
    tx.put("refund", record, condition=RefundRecord.refund_id.does_not_exist())
    guard = (PaymentRecord.refunded_fen.does_not_exist() if before == 0 else PaymentRecord.refunded_fen == before)
    actions = [PaymentRecord.refunded_fen.set(before + amount)]
    if completes and member_id:
        actions += [PaymentRecord.refunded_member_id.set(member_id), PaymentRecord.member_id.remove()]
    tx.update("payment", PaymentRecord(payment.payment_id), actions,
              condition=PaymentRecord.payment_id.exists() & guard)
    if member_id:
        member_actions = [MemberRecord.spend_total_fen.add(-amount)]
        if completes:
            member_actions.append(MemberRecord.orders_total.add(-1))
        tx.update("member", MemberRecord(member_id), member_actions)
    day = local_time(payment.paid_at, store.timezone).date()
    if completes:
        bump_in(tx, store.store_id, day, gmv_fen=-amount, payments=-1)
    else:
        bump_in(tx, store.store_id, day, gmv_fen=-amount)
    facts.reverse_in(tx, store.store_id, store.timezone, payment.paid_at, amount, completes,
                     anonymous=payer_of(payment) is None)
    return tx
