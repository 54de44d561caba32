"""Request and response shapes for payments."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from chalicelib.schema import ApiModel
from chalicelib.types import EntityId, Instant

OpenId = EntityId  # WeChat openids are 28 chars of [A-Za-z0-9_-]


class PaymentIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: EntityId
    member_id: EntityId | None = None
    openid: OpenId | None = None
    store_id: EntityId
    amount_fen: int = Field(gt=0, le=100_000_000)
    paid_at: Instant

    @model_validator(mode="after")
    def _one_payer(self) -> PaymentIn:
        # neither = a non-member (walk-in) payment: it counts for the store only
        if self.member_id is not None and self.openid is not None:
            raise ValueError("give at most one of member_id or openid (neither for a non-member payment)")
        return self


class PaymentOut(ApiModel):
    payment_id: str
    member_id: str | None  # None for a non-member payment
    store_id: str
    amount_fen: int
    paid_at: datetime
    duplicate: bool  # true when this payment_id had already been recorded (nothing was counted twice)
    tier: str | None  # the member's tier after it (None for a non-member payment)
    refunded_fen: int = 0


class RefundIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: int | None = Field(None, gt=0, le=100_000_000)  # absent = everything not yet refunded
    # What makes a refund idempotent. Absent: derived from the Idempotency-Key
    # header, else from the amount ("the full refund", "a refund of N fen"):
    # a second, distinct partial refund of the same amount needs its own id.
    refund_id: EntityId | None = None


class RefundOut(ApiModel):
    payment_id: str
    refund_id: str
    amount_fen: int  # this refund
    refunded_fen: int  # the payment's total refunded so far
    paid_fen: int
    duplicate: bool  # this refund_id had already been applied (nothing changed)
    member_id: str | None
    tier: str | None  # the member's tier after it


class OpenIdIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    member_id: EntityId


class OpenIdOut(ApiModel):
    openid: str
    member_id: str
