"""HTTP routes for coupons: templates (admin), offers, claims and the wallet
(member), redemption and its log (staff, admin)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.clock import get_clock, local_time
from chalicelib.coupons import claims, codes, offers, redemptions, templates
from chalicelib.coupons.errors import (
    AlreadyRedeemed,
    AlreadyReversed,
    Busy,
    CouponExpired,
    EditConflict,
    Ended,
    InvalidCode,
    LimitReached,
    MinSpendNotMet,
    NotEligible,
    NotInScope,
    NotStarted,
    ReversalWindowClosed,
    SoldOut,
    TemplateExists,
    WrongStore,
)
from chalicelib.coupons.models import CouponRecord, RedemptionRecord
from chalicelib.coupons.schemas import (
    Claimed,
    ClaimIn,
    Offers,
    RedeemIn,
    Redemption,
    Redemptions,
    RedemptionsQuery,
    Template,
    TemplateCreateIn,
    TemplateIn,
    Wallet,
    WalletCoupon,
    WalletQuery,
)
from chalicelib.errors import NotFound
from chalicelib.stores.service import get_store
from chalicelib.web import endpoint

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/coupon-templates", summary="Define a coupon template", roles=("admin",),
          body=TemplateCreateIn, response=Template, status=201, errors=(TemplateExists,))
def create_template(principal: Principal, body: TemplateCreateIn) -> Template:
    record = templates.create_template(body, get_clock().now(), template_id=body.template_id)
    return templates.to_view(record, body.total_stock)


@endpoint(bp, "GET", "/coupon-templates/{template_id}", summary="Read a template with its stock left",
          roles=("admin",), response=Template, errors=(400, 401, 403, 404))
def get_template(principal: Principal, template_id: str) -> Template:
    record = templates.get_template(template_id)
    return templates.to_view(record, templates.remaining(record))


@endpoint(bp, "PUT", "/coupon-templates/{template_id}", summary="Edit a template; issued coupons keep their terms",
          roles=("admin",), body=TemplateIn, response=Template, errors=(NotFound, EditConflict))
def put_template(principal: Principal, template_id: str, body: TemplateIn) -> Template:
    record = templates.update_template(template_id, body, get_clock().now())
    return templates.to_view(record, templates.remaining(record))


@endpoint(bp, "GET", "/stores/{store_id}/offers", summary="Coupons the caller can claim now at this store",
          roles=("member",), response=Offers, errors=(400, 401, 403, 404))
def store_offers(principal: Principal, store_id: str) -> Offers:
    return offers.store_offers(store_id, get_clock().now(), member_id=principal.sub)


@endpoint(bp, "POST", "/coupon-templates/{template_id}/claim", summary="Claim a coupon at a store",
          roles=("member",), body=ClaimIn, response=Claimed, status=201, operation_id="claimCoupon",
          errors=(NotFound, SoldOut, LimitReached, NotStarted, Ended, NotInScope, NotEligible, Busy))
def claim(principal: Principal, template_id: str, body: ClaimIn) -> Claimed:
    coupon = claims.claim(template_id, body.store_id, principal.sub, get_clock().now())
    return Claimed(
        coupon_id=coupon.coupon_id, template_id=coupon.template_id, store_id=coupon.store_id,
        code=codes.sign(coupon.coupon_id, redemptions.code_key()), value=int(coupon.value),
        expires_at=local_time(coupon.expires_at, coupon.timezone), status="claimed", title=coupon.title,
        kind=coupon.kind, min_spend_fen=int(coupon.min_spend_fen), boosted=bool(coupon.boosted))  # type: ignore


def _wallet_view(coupon: CouponRecord, status: str, key: bytes) -> WalletCoupon:
    return WalletCoupon(
        coupon_id=coupon.coupon_id, template_id=coupon.template_id, store_id=coupon.store_id, title=coupon.title,
        kind=coupon.kind, value=int(coupon.value), min_spend_fen=int(coupon.min_spend_fen),  # type: ignore
        status=status, claimed_at=local_time(coupon.claimed_at, coupon.timezone),  # type: ignore[arg-type]
        expires_at=local_time(coupon.expires_at, coupon.timezone), code=codes.sign(coupon.coupon_id, key))


@endpoint(bp, "GET", "/members/me/coupons", summary="The caller's coupons, newest first", roles=("member",),
          query=WalletQuery, response=Wallet, operation_id="getWallet")
def my_coupons(principal: Principal, query: WalletQuery) -> Wallet:
    key = redemptions.code_key()
    held = claims.wallet(principal.sub, get_clock().now(), query.status)
    return Wallet(coupons=[_wallet_view(coupon, status, key) for coupon, status in held])


def _redemption_view(record: RedemptionRecord, coupon_status: str | None = None) -> Redemption:
    tz = record.timezone
    return Redemption(
        redemption_id=record.redemption_id, coupon_id=record.coupon_id, template_id=record.template_id,
        member_id=record.member_id, store_id=record.store_id, staff_id=record.staff_id,
        redeemed_at=local_time(record.redeemed_at, tz), discount_fen=int(record.discount_fen),
        order_ref=record.order_ref, spend_fen=None if record.spend_fen is None else int(record.spend_fen),
        status=record.status,  # type: ignore[arg-type]
        reversed_at=local_time(record.reversed_at, tz) if record.reversed_at else None,
        reversed_by=record.reversed_by, coupon_status=coupon_status)  # type: ignore[arg-type]


@endpoint(bp, "POST", "/redemptions", summary="Redeem a scanned coupon code at the staff's store",
          roles=("staff",), body=RedeemIn, response=Redemption, status=201, operation_id="redeemCoupon",
          errors=(InvalidCode, NotFound, WrongStore, NotStarted, MinSpendNotMet, CouponExpired, AlreadyRedeemed, Busy))
def redeem(principal: Principal, body: RedeemIn) -> Redemption:
    record = redemptions.redeem(body.code, principal, get_clock().now(), body.spend_fen, body.order_ref)
    return _redemption_view(record)


@endpoint(bp, "POST", "/redemptions/{redemption_id}/reverse", summary="Reverse a redemption within 24 h",
          roles=("staff", "admin"), response=Redemption, operation_id="reverseRedemption",
          errors=(NotFound, WrongStore, AlreadyReversed, ReversalWindowClosed, Busy))
def reverse(principal: Principal, redemption_id: str) -> Redemption:
    record, coupon_status = redemptions.reverse(redemption_id, principal, get_clock().now())
    return _redemption_view(record, coupon_status)


@endpoint(bp, "GET", "/stores/{store_id}/redemptions", summary="A store's redemptions on a local date",
          roles=("staff", "admin"), query=RedemptionsQuery, response=Redemptions, errors=(400, 401, 403, 404))
def store_redemptions(principal: Principal, store_id: str, query: RedemptionsQuery) -> Redemptions:
    principal.require_store(store_id)
    store = get_store(store_id)  # 404 for an unknown store, with or without a date
    day = query.date or local_time(get_clock().now(), store.timezone).date()
    records = redemptions.store_redemptions(store_id, day.isoformat())
    return Redemptions(store_id=store_id, date=day.isoformat(), redemptions=[_redemption_view(r) for r in records])
