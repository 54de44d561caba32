"""Shapes of the WeCom-facing routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.schema import ApiModel

ChatId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class JoinWayIn(ApiModel):
    """The store's seed customer groups, created by staff in the WeCom client."""

    model_config = ConfigDict(extra="forbid")

    seed_chat_ids: list[ChatId] = Field(min_length=1, max_length=5)


class Join(ApiModel):
    """What the mini-program shows: the join way's QR code (scene 2) and its
    config id (for the mini-program plug-in), and the group WeCom will most
    likely put the member in (None: all full, WeCom opens the next)."""

    config_id: str
    qr_code: str
    state: str
    expected_chat_id: str | None = None
    expected_group_id: str | None = None


class ChatView(ApiModel):
    chat_id: str
    group_id: str | None
    seq: int | None
    name: str | None
    origin: str
    status: str
    member_count: int
    customer_count: int
    via_join_way: int
    has_robot: bool
    updated_at: datetime | None


class Alert(ApiModel):
    chat_id: str
    group_id: str | None
    code: str
    message: str


class StoreWeComOut(ApiModel):
    store_id: str
    state: str | None
    config_id: str | None
    qr_code: str | None
    seed_chat_ids: list[str]
    join_way_chat_ids: list[str]
    # joins reconcile: members Storeloop placed in the store vs customers WeCom counts
    storeloop_member_count: int
    wecom_customer_count: int  # in the store's active groups
    wecom_via_join_way: int  # of those, who came through the store's join way (their `state`)
    chats: list[ChatView]
    alerts: list[Alert]
