"""HTTP routes for coupons: templates (admin), offers, claims and the wallet
(member), redemption and its log (staff, admin)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import history
from chalicelib.auth import Principal
from chalicelib.clock import get_clock, local_time
from chalicelib.coupons import claims, lifecycle, offers, preview, redemptions, short_codes, templates
from chalicelib.coupons.errors import (
    AlreadyRedeemed,
    AlreadyReversed,
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
    TemplateEnded,
    TemplateExists,
    TemplatePaused,
    TooManyGuesses,
    WrongStore,
)
from chalicelib.coupons.models import CouponRecord, RedemptionRecord, TemplateRecord
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
from chalicelib.etags import MergePatch, PreconditionFailed
from chalicelib.schema import ApiModel
from chalicelib.stores.service import get_store
from chalicelib.web import WithHeaders, endpoint

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/coupon-templates", summary="Define a coupon template", roles=("admin",),
          body=TemplateCreateIn, response=Template, status=201, errors=(TemplateExists,))
def create_template(principal: Principal, body: TemplateCreateIn) -> Template:
    record = templates.create_template(body, get_clock().now(), template_id=body.template_id)
    return templates.to_view(record, body.total_stock)


def _tagged(record: TemplateRecord) -> WithHeaders:
    return WithHeaders(lifecycle.view(record), {"ETag": lifecycle.etag(record)})


@endpoint(bp, "GET", "/coupon-templates", summary="Templates by status, kind, store, active window; cursor-paged",
          roles=("admin",), query=lifecycle.TemplateListQuery, response=lifecycle.TemplateList,
          errors=(400, 401, 403, 404))
def list_templates(principal: Principal, query: lifecycle.TemplateListQuery) -> lifecycle.TemplateList:
    records, cursor = lifecycle.list_templates(query, get_clock().now())
    return lifecycle.TemplateList(templates=[lifecycle.view(r) for r in records], next_cursor=cursor)


@endpoint(bp, "GET", "/coupon-templates/{template_id}", summary="Read a template with its stock left (and ETag)",
          roles=("admin",), response=Template, errors=(400, 401, 403, 404))
def get_template(principal: Principal, template_id: str) -> WithHeaders:
    return _tagged(templates.get_template(template_id))


@endpoint(bp, "PUT", "/coupon-templates/{template_id}", summary="Edit a template; issued coupons keep their terms",
          roles=("admin",), body=TemplateIn, response=Template,
          errors=(NotFound, EditConflict, PreconditionFailed))
def put_template(principal: Principal, template_id: str, body: TemplateIn, if_match: str | None) -> WithHeaders:
    return _tagged(templates.update_template(template_id, body, get_clock().now(), if_match=if_match))


@endpoint(bp, "PATCH", "/coupon-templates/{template_id}", summary="Change some fields (JSON merge patch)",
          roles=("admin",), body=MergePatch, response=Template,
          errors=(NotFound, EditConflict, PreconditionFailed))
def patch_template(principal: Principal, template_id: str, body: MergePatch, if_match: str | None) -> WithHeaders:
    return _tagged(lifecycle.patch_template(template_id, body.patch(), if_match, get_clock().now()))


def _lifecycle_route(action: str, status: str, summary: str) -> None:
    @endpoint(bp, "POST", f"/coupon-templates/{{template_id}}/{action}", summary=summary, roles=("admin",),
              response=Template, operation_id=f"{action}Template",
              errors=(NotFound, TemplateEnded, PreconditionFailed))
    def change(principal: Principal, template_id: str, if_match: str | None) -> WithHeaders:
        return _tagged(lifecycle.set_status(template_id, status, if_match, get_clock().now()))


_lifecycle_route("pause", "paused", "Pause a template: claims refused (409 template_paused) until resumed")
_lifecycle_route("resume", "active", "Resume a paused template")
_lifecycle_route("end", "ended", "End a template for good (claims refused as ended)")


@endpoint(bp, "POST", "/coupon-templates/{template_id}/copy", summary="Copy a template's terms into a new one",
          roles=("admin",), body=lifecycle.CopyIn, response=Template, status=201,
          errors=(NotFound, TemplateExists))
def copy_template(principal: Principal, template_id: str, body: lifecycle.CopyIn) -> WithHeaders:
    return _tagged(lifecycle.copy_template(template_id, body, get_clock().now()))


@endpoint(bp, "GET", "/stores/{store_id}/offers/preview", summary="HQ: a store's offers as a member tier sees them",
          roles=("admin",), query=preview.OffersPreviewQuery, response=Offers, errors=(400, 401, 403, 404))
def offers_preview(principal: Principal, store_id: str, query: preview.OffersPreviewQuery) -> Offers:
    return preview.offers_as(store_id, query.tier, get_clock().now(), query.segment)


@endpoint(bp, "POST", "/redemptions/preview", summary="What redeeming this code would do; changes nothing",
          roles=("staff",), body=preview.PreviewIn, response=preview.RedemptionPreview,
          errors=(InvalidCode, NotFound, TooManyGuesses))
def redemption_preview(principal: Principal, body: preview.PreviewIn) -> preview.RedemptionPreview:
    return preview.preview_redemption(body.code, principal, get_clock().now(), body.spend_fen)


@endpoint(bp, "GET", "/stores/{store_id}/offers", summary="Coupons the caller can claim now at this store",
          roles=("member",), response=Offers, errors=(400, 401, 403, 404))
def store_offers(principal: Principal, store_id: str) -> Offers:
    return offers.store_offers(store_id, get_clock().now(), member_id=principal.sub)


@endpoint(bp, "POST", "/coupon-templates/{template_id}/claim", summary="Claim a coupon at a store",
          roles=("member",), body=ClaimIn, response=Claimed, status=201, operation_id="claimCoupon",
          errors=(NotFound, SoldOut, LimitReached, NotStarted, Ended, NotInScope, NotEligible, TemplatePaused))
def claim(principal: Principal, template_id: str, body: ClaimIn) -> Claimed:
    coupon = claims.claim(template_id, body.store_id, principal.sub, get_clock().now())
    return Claimed(
        coupon_id=coupon.coupon_id, template_id=coupon.template_id, store_id=coupon.store_id,
        code=redemptions.code_for(coupon), short_code=coupon.short_code,
        value=int(coupon.value),
        expires_at=local_time(coupon.expires_at, coupon.timezone), status="claimed", title=coupon.title,
        kind=coupon.kind, min_spend_fen=int(coupon.min_spend_fen), boosted=bool(coupon.boosted))  # type: ignore


def _wallet_view(coupon: CouponRecord, status: str, key: bytes) -> WalletCoupon:
    return WalletCoupon(
        coupon_id=coupon.coupon_id, template_id=coupon.template_id, store_id=coupon.store_id, title=coupon.title,
        kind=coupon.kind, value=int(coupon.value), min_spend_fen=int(coupon.min_spend_fen),  # type: ignore
        status=status, claimed_at=local_time(coupon.claimed_at, coupon.timezone),  # type: ignore[arg-type]
        expires_at=local_time(coupon.expires_at, coupon.timezone), code=redemptions.code_for(coupon, key),
        short_code=coupon.short_code)


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


@endpoint(bp, "POST", "/redemptions", summary="Redeem a scanned (or typed short) code at the staff's store",
          roles=("staff",), body=RedeemIn, response=Redemption, status=201, operation_id="redeemCoupon",
          errors=(InvalidCode, NotFound, WrongStore, NotStarted, MinSpendNotMet, CouponExpired, AlreadyRedeemed,
                  TooManyGuesses))
def redeem(principal: Principal, body: RedeemIn) -> Redemption:
    now = get_clock().now()
    code = short_codes.to_signed(body.code, principal, redemptions.code_key(), now)
    record = redemptions.redeem(code, principal, now, body.spend_fen, body.order_ref)
    return _redemption_view(record)


@endpoint(bp, "POST", "/redemptions/{redemption_id}/reverse", summary="Reverse a redemption within 24 h",
          roles=("staff", "admin"), response=Redemption, operation_id="reverseRedemption",
          errors=(NotFound, WrongStore, AlreadyReversed, ReversalWindowClosed))
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


class RedemptionPage(ApiModel):
    store_id: str
    redemptions: list[Redemption]
    next_cursor: str | None


@endpoint(bp, "GET", "/stores/{store_id}/redemptions/history", summary="A store's redemptions over local dates",
          roles=("staff", "admin"), query=history.RangePageQuery, response=RedemptionPage, errors=(400, 401, 403, 404))
def redemption_history(principal: Principal, store_id: str, query: history.RangePageQuery) -> RedemptionPage:
    principal.require_store(store_id)
    get_store(store_id)
    page = history.redemptions(store_id, query)
    return RedemptionPage(store_id=store_id, redemptions=[_redemption_view(r) for r in page.items],
                          next_cursor=page.next_cursor)
