"""Coupon refusals, each with its contract `code` (see ../shared/API.md)."""

from __future__ import annotations

from chalicelib.errors import Conflict, Forbidden, StoreloopError


class SoldOut(Conflict):
    code, default_message = "sold_out", "this coupon is sold out"


class LimitReached(Conflict):
    code, default_message = "limit_reached", "you already hold as many of this coupon as allowed"


class NotStarted(Conflict):
    code, default_message = "not_started", "claiming has not started yet"


class Ended(Conflict):
    code, default_message = "ended", "claiming has ended"


class NotInScope(Conflict):
    code, default_message = "not_in_scope", "this coupon is not offered at this store"


class NotEligible(Conflict):
    code, default_message = "not_eligible", "this coupon is for other members"


class InvalidCode(StoreloopError):
    status, code, default_message = 400, "invalid_code", "this is not a valid coupon code"


class WrongStore(Forbidden):
    code, default_message = "wrong_store", "this coupon cannot be used at your store"


class MinSpendNotMet(Conflict):
    code, default_message = "min_spend_not_met", "the order does not reach the coupon's minimum spend"


class CouponExpired(Conflict):
    code, default_message = "expired", "this coupon has expired"


class AlreadyRedeemed(Conflict):
    code, default_message = "already_redeemed", "this coupon has already been redeemed"


class AlreadyReversed(Conflict):
    code, default_message = "already_reversed", "this redemption has already been reversed"


class ReversalWindowClosed(Conflict):
    code, default_message = "reversal_window_closed", "a redemption can be reversed only within 24 hours"


class TemplateExists(Conflict):
    code, default_message = "template_exists", "a template with this id already exists"


class EditConflict(Conflict):
    code, default_message = "edit_conflict", "the template changed while you edited it; read it and retry"


class TemplatePaused(Conflict):
    code, default_message = "template_paused", "this coupon is paused by the operator; try again later"


class TemplateEnded(Conflict):
    code, default_message = "template_ended", "this template has ended and cannot be resumed"


class TooManyGuesses(StoreloopError):
    """Too many wrong short codes from one staff member in a window."""

    status, code = 429, "too_many_attempts"
    default_message = "too many wrong codes; wait a few minutes or scan the QR code"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__()
        self.retry_after_s = max(1, retry_after_s)  # until the counting window ends
