"""Request and response shapes for slots and posts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from chalicelib.campaigns.slots import CLEARANCE, PLAN_KINDS
from chalicelib.delivery.report import GroupDelivery
from chalicelib.schema import ApiModel
from chalicelib.types import HHMM, IsoDate

SlotName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
PlanKind = Literal["poster", "flash_coupon", "afternoon_promo", "ecommerce"]
assert set(PlanKind.__args__) == set(PLAN_KINDS)  # type: ignore[attr-defined]


class SlotIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    slot: SlotName
    at: HHMM
    kind: PlanKind


class SlotPlanIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    slots: list[SlotIn] = Field(min_length=1, max_length=24)

    @field_validator("slots")
    @classmethod
    def _unique(cls, slots: list[SlotIn]) -> list[SlotIn]:
        names = [s.slot for s in slots]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"slot names must be unique: {', '.join(duplicates)}")
        if CLEARANCE in names:
            raise ValueError("'clearance' is the idle-hour slot, set by the store's idle_hour")
        return slots


class SlotOut(ApiModel):
    slot: str
    at: str
    kind: str


class SlotPlanOut(ApiModel):
    store_id: str
    custom: bool  # false = the default plan
    slots: list[SlotOut]  # including the idle-hour clearance slot when the store has one


class PostOffer(ApiModel):
    template_id: str
    title: str
    kind: str
    value: int
    min_spend_fen: int
    remaining: int | None
    claim_end: datetime | None  # stored as text in the store's offset; answered in UTC `Z` like every instant
    boosted: bool


class Post(ApiModel):
    post_id: str
    slot: str
    kind: str
    local_date: date
    fire_at: datetime
    status: Literal["pending", "sent", "failed"]
    member_day: bool
    group_ids: list[str]
    sent_group_ids: list[str]
    body: str | None
    offers: list[PostOffer]
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    sent_at: datetime | None
    # per group: the channel (robot, mass_send, record, none) and its state (issue 9)
    deliveries: list[GroupDelivery] = []


class PostList(ApiModel):
    posts: list[Post]


class DateQuery(ApiModel):
    model_config = ConfigDict(extra="forbid")

    date: IsoDate
