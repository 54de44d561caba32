"""Request and response shapes for coupons (pydantic v2). Field syntax is
checked here; rules across fields live in `template_problems`, so every bad
field gets its own `details` entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from chalicelib.members.rfm import Segment
from chalicelib.schema import ApiModel
from chalicelib.types import EntityId, Fen, Instant, IsoDate, MemberTier, Name, Tier3

Kind = Literal["amount_off", "percent_off", "free_item", "clearance"]
CouponStatus = Literal["claimed", "redeemed", "expired"]
MAX_SCOPE_STORE_IDS = 2000  # bigger lists belong in tiers; coupons copy the scope
MAX_VALUE = 100_000_000
MAX_STOCK = 10_000_000


class _In(ApiModel):
    model_config = ConfigDict(extra="forbid")


class ScopeIn(_In):
    store_ids: list[EntityId] = Field(default_factory=list, max_length=MAX_SCOPE_STORE_IDS)
    traffic_tiers: list[Tier3] = Field(default_factory=list)
    spend_tiers: list[Tier3] = Field(default_factory=list)


class BoostIn(_In):
    value: int = Field(gt=0, le=MAX_VALUE)


class AudienceIn(_In):
    """Who may see and claim it: member tiers and/or RFM segments
    (members/rfm.py); a member matching either list is in. At least one."""

    tiers: list[MemberTier] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some(self) -> AudienceIn:
        if not self.tiers and not self.segments:
            raise ValueError("give tiers and/or segments")
        return self


TemplateStatus = Literal["active", "paused", "ended"]
TEMPLATE_READ_ONLY = ("template_id", "remaining", "created_at", "updated_at", "version", "status")


class TemplateIn(_In):
    """A template as `GET` returned it is accepted back: read-only fields
    are dropped (the lifecycle `status` changes through pause/resume/end)."""

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls is TemplateIn:
            return {k: v for k, v in data.items() if k not in TEMPLATE_READ_ONLY}
        return data

    title: Name
    kind: Kind
    value: int = Field(gt=0, le=MAX_VALUE, description="fen off; percent for percent_off; item price for free_item")
    min_spend_fen: Fen = 0
    scope: ScopeIn = Field(default_factory=ScopeIn)
    total_stock: int | None = Field(None, ge=1, le=MAX_STOCK)
    per_member_limit: int = Field(1, ge=1, le=100)
    claim_start: Instant
    claim_end: Instant
    valid_days: int | None = Field(None, ge=1, le=3650)
    valid_until: Instant | None = None
    member_day_boost: BoostIn | None = None
    audience: AudienceIn | None = None
    stock_shards: int | None = Field(None, ge=1, le=99, description=(
        "default: one shard per 50 units, at most 32; up to 99 on request (a flash sale: each shard takes "
        "about 500 claims/s on DynamoDB; a template and all its shards are saved in one 100-item transaction)"))


class TemplateCreateIn(TemplateIn):
    """The contract lists `template_id` with the template's fields: HQ tools
    may choose it (a retried create is then refused as `template_exists`
    rather than making a twin); without one the server mints it."""

    template_id: EntityId | None = None


def template_problems(data: TemplateIn) -> list[dict[str, Any]]:
    """Cross-field rules, one detail per bad field (empty list = valid)."""
    problems: list[dict[str, Any]] = []

    def bad(field: str, problem: str) -> None:
        problems.append({"field": field, "problem": problem})

    if data.kind == "percent_off":
        if not 1 <= data.value <= 99:
            bad("value", "a percent_off value is a percent from 1 to 99")
        if data.member_day_boost and not 1 <= data.member_day_boost.value <= 99:
            bad("member_day_boost.value", "a percent_off boost is a percent from 1 to 99")
    if data.claim_end <= data.claim_start:
        bad("claim_end", "must be after claim_start")
    if (data.valid_days is None) == (data.valid_until is None):
        bad("valid_days", "give exactly one of valid_days or valid_until")
    elif data.valid_until is not None and data.valid_until < data.claim_end:
        bad("valid_until", "must not be before claim_end (a late claim would be born expired)")
    if data.stock_shards is not None:
        if data.total_stock is None:
            bad("stock_shards", "only for templates with a total_stock")
        elif data.stock_shards > data.total_stock:
            bad("stock_shards", "cannot exceed total_stock")
    if len(set(data.scope.store_ids)) != len(data.scope.store_ids):
        bad("scope.store_ids", "contains duplicates")
    return problems


class Scope(ApiModel):
    store_ids: list[str]
    traffic_tiers: list[str]
    spend_tiers: list[str]


class Template(ApiModel):
    template_id: str
    title: str
    kind: Kind
    value: int
    min_spend_fen: int
    scope: Scope
    total_stock: int | None
    stock_shards: int | None
    remaining: int | None
    per_member_limit: int
    claim_start: datetime
    claim_end: datetime
    valid_days: int | None
    valid_until: datetime | None
    member_day_boost: BoostIn | None
    audience: AudienceIn | None
    created_at: datetime
    updated_at: datetime
    version: int
    status: TemplateStatus = Field("active", description="paused: claims refused; ended: by hand or past claim_end")


class Offer(ApiModel):
    template_id: str
    title: str
    kind: Kind
    value: int
    min_spend_fen: int
    remaining: int | None = Field(description="stock left; null = unlimited")
    claim_end: datetime
    boosted: bool
    per_member_limit: int
    reason: str | None = None  # why it is shown to this member, in this place (千人千面)
    held: int = 0  # how many of it the caller already holds


class MemberView(ApiModel):
    tier: str
    segment: str
    r: int
    f: int
    m: int


class Offers(ApiModel):
    offers: list[Offer]
    member_day: bool
    member: MemberView | None = None  # who the offers were ranked for


class ClaimIn(_In):
    store_id: EntityId


class Claimed(ApiModel):
    coupon_id: str
    template_id: str
    store_id: str
    code: str
    short_code: str | None = Field(None, description="digits staff can type when the QR will not scan")
    value: int
    expires_at: datetime
    status: Literal["claimed"]
    title: str
    kind: Kind
    min_spend_fen: int
    boosted: bool


class WalletQuery(_In):
    status: CouponStatus | None = None


class WalletCoupon(ApiModel):
    coupon_id: str
    template_id: str
    store_id: str
    title: str
    kind: Kind
    value: int
    min_spend_fen: int
    status: CouponStatus
    claimed_at: datetime
    expires_at: datetime
    code: str
    short_code: str | None = None


class Wallet(ApiModel):
    coupons: list[WalletCoupon]


class RedeemIn(_In):
    code: str = Field(min_length=1, max_length=256, description="the QR's signed code or the short_code digits")
    order_ref: str | None = Field(None, min_length=1, max_length=64)
    spend_fen: Fen | None = None


class Redemption(ApiModel):
    redemption_id: str
    coupon_id: str
    template_id: str
    member_id: str
    store_id: str
    staff_id: str
    redeemed_at: datetime
    discount_fen: int
    order_ref: str | None
    spend_fen: int | None
    status: Literal["redeemed", "reversed"]
    reversed_at: datetime | None
    reversed_by: str | None
    coupon_status: CouponStatus | None = Field(None, description="set by reverse: the coupon's status after it")


class RedemptionsQuery(_In):
    date: IsoDate | None = Field(None, description="store-local date; default today")


class Redemptions(ApiModel):
    store_id: str
    date: str
    redemptions: list[Redemption]
