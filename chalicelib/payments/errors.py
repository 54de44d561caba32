"""Payment refusals, each with its contract code."""

from __future__ import annotations

from chalicelib.errors import Conflict


class PaymentConflict(Conflict):
    code, default_message = "payment_conflict", "this payment_id was already recorded with different details"


class OpenIdBound(Conflict):
    code, default_message = "openid_bound", "this openid is bound to another member"


class RefundTooLarge(Conflict):
    code, default_message = "refund_exceeds_payment", "this refund would return more than was paid"


class RefundConflict(Conflict):
    code, default_message = "refund_conflict", "this refund_id was already used with a different amount"
