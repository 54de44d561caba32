"""Recording a payment, exactly once per payment_id.

One transaction: the payment item (attribute_not_exists), the member's
counters (ADD only: the profile is never overwritten, the member must
exist) and the store's day stats. A retried POST with the same payment_id
cancels on the first condition and changes nothing. `last_order_at` is a
guarded max afterwards (UpdateItem cannot take a max in one action); it is
re-applied on a retry, so a crash in between heals on the next call."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib import db
from chalicelib.clock import local_time
from chalicelib.errors import NotFound
from chalicelib.members.models import MemberRecord
from chalicelib.payments.errors import OpenIdBound, PaymentConflict
from chalicelib.payments.models import OpenIdRecord, PaymentRecord
from chalicelib.payments.schemas import PaymentIn
from chalicelib.payments.tiers import member_tier
from chalicelib.stats.counters import bump_in
from chalicelib.stores.service import get_store


def resolve_member(member_id: str | None, openid: str | None) -> str:
    """An unknown openid is 404: a payment never creates a member (a member
    exists only once they signed up in the mini-program); the POS can retry
    after the openid is bound."""
    if member_id is not None:
        return member_id
    assert openid is not None
    try:
        return OpenIdRecord.get(openid).member_id
    except DoesNotExist as exc:
        raise NotFound(f"openid {openid} is not bound to a member") from exc


def bind_openid(openid: str, member_id: str, now: datetime) -> OpenIdRecord:
    record = OpenIdRecord(openid, member_id=member_id, bound_at=now)
    try:
        record.save(condition=OpenIdRecord.openid.does_not_exist() | (OpenIdRecord.member_id == member_id))
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise OpenIdBound(f"openid {openid} is bound to another member") from exc
        raise
    return record


def record_payment(data: PaymentIn, now: datetime) -> tuple[PaymentRecord, bool, str]:
    """(payment, duplicate, tier after it)."""
    member_id = resolve_member(data.member_id, data.openid)
    store = get_store(data.store_id)
    day = local_time(data.paid_at, store.timezone).date()
    payment = PaymentRecord(data.payment_id, member_id=member_id, store_id=store.store_id,
                            amount_fen=data.amount_fen, paid_at=data.paid_at, local_day=day.isoformat(),
                            recorded_at=now)
    duplicate = False
    try:
        with db.transact_write() as tx:
            tx.save(payment, condition=PaymentRecord.payment_id.does_not_exist())
            tx.update(MemberRecord(member_id), actions=[
                MemberRecord.orders_total.add(1), MemberRecord.spend_total_fen.add(data.amount_fen)],
                condition=MemberRecord.member_id.exists())
            bump_in(tx, store.store_id, day, payments=1, gmv_fen=data.amount_fen)
    except TransactWriteError as exc:
        reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
            raise NotFound(f"member {member_id} not found") from exc
        if not reasons or reasons[0] != "ConditionalCheckFailed":
            raise
        payment = PaymentRecord.get(data.payment_id, consistent_read=True)
        if (payment.member_id, payment.store_id, int(payment.amount_fen)) != (
                member_id, store.store_id, data.amount_fen):
            raise PaymentConflict(f"payment {data.payment_id} was recorded with other details") from exc
        duplicate = True
    _raise_last_order(payment.member_id, payment.paid_at)
    return payment, duplicate, member_tier(payment.member_id, now)


def _raise_last_order(member_id: str, paid_at: datetime) -> None:
    try:
        MemberRecord(member_id).update(
            actions=[MemberRecord.last_order_at.set(paid_at)],
            condition=MemberRecord.member_id.exists() & (
                MemberRecord.last_order_at.does_not_exist() | (MemberRecord.last_order_at < paid_at)))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
