"""Payment refusals, each with its contract code."""

from __future__ import annotations

from chalicelib.errors import Conflict


class PaymentConflict(Conflict):
    code, default_message = "payment_conflict", "this payment_id was already recorded with different details"


class OpenIdBound(Conflict):
    code, default_message = "openid_bound", "this openid is bound to another member"
