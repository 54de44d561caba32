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
        if (self.member_id is None) == (self.openid is None):
            raise ValueError("give exactly one of member_id or openid")
        return self


class PaymentOut(ApiModel):
    payment_id: str
    member_id: str
    store_id: str
    amount_fen: int
    paid_at: datetime
    duplicate: bool  # true when this payment_id had already been recorded (nothing was counted twice)
    tier: str


class OpenIdIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    member_id: EntityId


class OpenIdOut(ApiModel):
    openid: str
    member_id: str
