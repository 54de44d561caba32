"""Request and response shapes for groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StringConstraints, model_validator

from chalicelib.groups.webhook import check_webhook_url
from chalicelib.schema import ApiModel
from chalicelib.types import Coord, EntityId, Latitude, Longitude
from chalicelib.wecom.schemas import Join

WebhookUrl = Annotated[str, AfterValidator(check_webhook_url)]
ChatRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class JoinIn(ApiModel):
    """`{lat, lng, coord}` (the nearest covering store) or `{store_id}`."""

    model_config = ConfigDict(extra="forbid")

    lat: Latitude | None = None
    lng: Longitude | None = None
    coord: Coord = "wgs84"
    store_id: EntityId | None = None

    @model_validator(mode="after")
    def _one_way_to_name_a_store(self) -> JoinIn:
        if self.store_id is not None:
            if self.lat is not None or self.lng is not None:
                raise ValueError("send either store_id or lat and lng, not both")
        elif self.lat is None or self.lng is None:
            raise ValueError("send lat and lng (and coord), or store_id")
        return self


class JoinOut(ApiModel):
    group_id: str
    store_id: str
    seq: int
    member_count: int
    capacity: int
    chat_ref: str | None
    # the store's WeCom join way when STORELOOP_WECOM is on and the store has one; else null
    join: Join | None = None


class GroupPatch(ApiModel):
    """Fields left out are unchanged; an explicit null clears one."""

    model_config = ConfigDict(extra="forbid")

    chat_ref: ChatRef | None = None
    webhook_url: WebhookUrl | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> GroupPatch:
        if not self.model_fields_set:
            raise ValueError("send chat_ref and/or webhook_url")
        return self


class Group(ApiModel):
    group_id: str
    store_id: str
    seq: int
    member_count: int
    capacity: int
    chat_ref: str | None
    webhook_set: bool  # the URL itself embeds the robot's key: it is write-only
    created_at: datetime


class StoreGroupsOut(ApiModel):
    store_id: str
    member_count: int  # members of the store, over all its groups
    current_seq: int | None  # the group new members join; None before the first join
    groups: list[Group]
