"""The member's own profile, and a masked view for staff and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from chalice import Blueprint
from pydantic import AfterValidator, ConfigDict

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.members import rfm
from chalicelib.members.models import MemberRecord
from chalicelib.members.profile import get_member, mask_phone, normalise_phone, upsert_profile
from chalicelib.payments.tiers import tier_given_last_order
from chalicelib.schema import ApiModel
from chalicelib.types import MemberTier, Name
from chalicelib.web import endpoint

bp = Blueprint(__name__)

Phone = Annotated[str, AfterValidator(normalise_phone)]


class MemberIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    nickname: Name
    phone: Phone | None = None


class Rfm(ApiModel):
    r: int
    f: int
    m: int
    segment: str


class Member(ApiModel):
    member_id: str
    nickname: str | None
    phone: str | None
    home_store_id: str | None
    group_id: str | None
    tier: MemberTier
    orders_total: int
    spend_total_fen: int
    last_order_at: datetime | None
    created_at: datetime | None
    rfm: Rfm | None = None  # scores as of the last payment/refund, recency re-scored now



def to_view(record: MemberRecord, show_phone: bool) -> Member:
    return Member(
        member_id=record.member_id, nickname=record.nickname,
        phone=record.phone if show_phone else mask_phone(record.phone),
        home_store_id=record.home_store_id, group_id=record.group_id,
        tier=tier_given_last_order(record.member_id, record.last_order_at, get_clock().now(),
                                   None if record.orders_total is None else int(record.orders_total)),
        orders_total=int(record.orders_total or 0), spend_total_fen=int(record.spend_total_fen or 0),
        last_order_at=record.last_order_at, created_at=record.created_at,
        rfm=rfm_view(record, get_clock().now()),
    )


def rfm_view(record: MemberRecord, now: datetime) -> Rfm | None:
    if record.rfm_segment is None:
        return None
    r = rfm.recency_score(record.last_order_at, now) if int(record.orders_total or 0) else 0
    f, m = int(record.rfm_f or 0), int(record.rfm_m or 0)
    return Rfm(r=r, f=f, m=m, segment=rfm.segment_of(r, f, m) if r else "new")


@endpoint(bp, "PUT", "/members/me", summary="Create or update the caller's profile", roles=("member",),
          body=MemberIn, response=Member, errors=(400, 401, 403))
def put_me(principal: Principal, body: MemberIn) -> Member:
    upsert_profile(principal.sub, body.nickname, body.phone, get_clock().now())
    return to_view(get_member(principal.sub), show_phone=True)


@endpoint(bp, "GET", "/members/me", summary="The caller's profile, group and tier", roles=("member",),
          response=Member, errors=(401, 403, 404))
def get_me(principal: Principal) -> Member:
    return to_view(get_member(principal.sub), show_phone=True)


@endpoint(bp, "GET", "/members/{member_id}", summary="A member's profile, phone masked",
          roles=("staff", "admin"), response=Member, errors=(400, 401, 403, 404))
def get_member_masked(principal: Principal, member_id: str) -> Member:
    return to_view(get_member(member_id), show_phone=False)
