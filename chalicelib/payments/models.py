"""Payments (the ledger that makes POST /payments idempotent and drives
tiers) and the openid -> member mapping."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model


class ByMemberPaidAt(GlobalSecondaryIndex["PaymentRecord"]):
    """member_id + paid_at: "orders in the last 30 days" is one range Query."""

    class Meta:
        index_name = "by_member_paid_at"
        projection = KeysOnlyProjection()

    member_id = UnicodeAttribute(hash_key=True)
    paid_at = UTCDateTimeAttribute(range_key=True)


class PaymentRecord(Model):
    BASE_NAME = "payments"

    class Meta:
        table_name = "payments"

    payment_id = UnicodeAttribute(hash_key=True)
    # The member this order counts for, and the key of `by_member_paid_at`
    # (which drives tiers). Absent for a non-member payment, and removed
    # when the payment is refunded in full (it moves to
    # `refunded_member_id`), so the sparse index stops counting the order.
    member_id = UnicodeAttribute(null=True)
    refunded_member_id = UnicodeAttribute(null=True)
    store_id = UnicodeAttribute()
    amount_fen = NumberAttribute()
    refunded_fen = NumberAttribute(null=True)
    paid_at = UTCDateTimeAttribute()
    local_day = UnicodeAttribute()  # the store's local date of paid_at (the stats day)
    recorded_at = UTCDateTimeAttribute()

    by_member_paid_at = ByMemberPaidAt()


def payer_of(payment: PaymentRecord) -> str | None:
    return payment.member_id or payment.refunded_member_id


class RefundRecord(Model):
    """One refund of a payment, by refund_id (what makes a refund idempotent)."""

    BASE_NAME = "refunds"

    class Meta:
        table_name = "refunds"

    payment_id = UnicodeAttribute(hash_key=True)
    refund_id = UnicodeAttribute(range_key=True)
    amount_fen = NumberAttribute()
    refunded_at = UTCDateTimeAttribute()
    by = UnicodeAttribute()


class OpenIdRecord(Model):
    """WeChat openid -> member_id, bound by an admin/POS (the mini-program's
    login flow would bind it the same way)."""

    BASE_NAME = "openids"

    class Meta:
        table_name = "openids"

    openid = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute()
    bound_at = UTCDateTimeAttribute()


MODELS = [PaymentRecord, RefundRecord, OpenIdRecord]
