"""Previews that change nothing: what redeeming a code would do
(`POST /redemptions/preview`, staff) and what a store offers to a member of
a given tier (`GET /stores/{id}/offers/preview`, HQ)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from chalicelib.auth import Principal
from chalicelib.clock import local_time
from chalicelib.coupons import rules, short_codes
from chalicelib.coupons.audience import matches
from chalicelib.coupons.models import CouponRecord, TemplateRecord
from chalicelib.coupons.offers import store_offers
from chalicelib.coupons.redemptions import check_redeemable_at, code_key, get_coupon
from chalicelib.coupons.schemas import CouponStatus, Kind, Offers, _In
from chalicelib.errors import StoreloopError
from chalicelib.members.rfm import Segment
from chalicelib.schema import ApiModel
from chalicelib.stores.service import get_store
from chalicelib.types import Fen, MemberTier


class PreviewIn(_In):
    code: str = Field(min_length=1, max_length=256, description="signed QR code or short_code digits")
    spend_fen: Fen | None = None


class Refusal(ApiModel):
    code: str
    message: str


class RedemptionPreview(ApiModel):
    coupon_id: str
    template_id: str
    title: str
    kind: Kind
    value: int
    min_spend_fen: int
    member_id: str
    claimed_store_id: str
    status: CouponStatus
    expires_at: datetime
    short_code: str | None
    redeemable: bool = Field(description="true: POST /redemptions with this code would succeed now")
    refusal: Refusal | None = Field(description="why not (the code POST /redemptions would answer)")
    discount_fen: int | None = Field(description="what it would take off (needs spend_fen for percent_off)")


def preview_redemption(code: str, staff: Principal, now: datetime, spend_fen: int | None) -> RedemptionPreview:
    assert staff.store_id is not None
    coupon: CouponRecord = get_coupon(short_codes.coupon_id_for(code, staff, code_key(), now))
    store = get_store(staff.store_id)
    status = rules.coupon_status(coupon.status, coupon.expires_at, now)
    refusal: Refusal | None = None
    discount: int | None = None
    try:  # redeem's own rules, in redeem's order: scope, status, then min spend
        check_redeemable_at(coupon, store, now)
        discount = rules.discount_fen(coupon.kind, int(coupon.value), int(coupon.min_spend_fen), spend_fen)
    except StoreloopError as err:
        refusal = Refusal(code=err.code, message=err.message)
    return RedemptionPreview(
        coupon_id=coupon.coupon_id, template_id=coupon.template_id, title=coupon.title,
        kind=coupon.kind, value=int(coupon.value), min_spend_fen=int(coupon.min_spend_fen),  # type: ignore
        member_id=coupon.member_id, claimed_store_id=coupon.store_id, status=status,  # type: ignore[arg-type]
        expires_at=local_time(coupon.expires_at, coupon.timezone), short_code=coupon.short_code,
        redeemable=refusal is None, refusal=refusal, discount_fen=discount)


class OffersPreviewQuery(_In):
    tier: MemberTier | None = Field(None, description="show what a member of this tier sees (default: anyone)")
    segment: Segment | None = Field(None, description="and of this RFM segment (templates may target either)")


def offers_as(store_id: str, tier: str | None, now: datetime, segment: str | None = None) -> Offers:
    """The store's live offers (paused ones excluded) filtered by audience
    as a member of `tier` and `segment` would see them (per-member limits
    not applied)."""
    everyone = store_offers(store_id, now)
    ids = [o.template_id for o in everyone.offers]
    records = {r.template_id: r for r in TemplateRecord.batch_get(ids)} if ids else {}
    visible = [o for o in everyone.offers
               if o.template_id in records and records[o.template_id].status in (None, "active")
               and matches(records[o.template_id].audience_tiers, records[o.template_id].audience_segments,
                           tier, segment)]
    return Offers(offers=visible, member_day=everyone.member_day)
