"""Request and response shapes for stores."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from chalicelib.schema import ApiModel
from chalicelib.types import HHMM, Coord, EntityId, Latitude, Longitude, Name, Tier3, TimeZoneName, Weekday

StoreStatus = Literal["open", "closed"]


_INTERVAL = re.compile(r"^\s*([01]\d|2[0-3]):[0-5]\d\s*-\s*([01]\d|2[0-3]):[0-5]\d\s*$")


def _interval(value: str) -> str:
    if not _INTERVAL.match(value):
        raise ValueError("must be HH:MM-HH:MM (close <= open runs past midnight; equal = 24 hours)")
    return value.replace(" ", "")


Interval = Annotated[str, AfterValidator(_interval)]
# per weekday, up to 4 intervals; a weekday left out (or []) is closed all day
WeekHoursIn = dict[Weekday, Annotated[list[Interval], Field(max_length=4)]]
MAX_RADIUS_M = 5000  # a store-local community, not a city; also bounds geo-index reads
MAX_GROUP_CAPACITY = 500  # WeCom customer group chats hold at most 500


READ_ONLY_FIELDS = ("store_id", "updated_at", "open_now")


class StoreIn(ApiModel):
    """What a client sends. A store as `GET` returned it is accepted back:
    read-only fields are dropped (`store_id` comes from the path)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls is StoreIn:
            return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}
        return data

    name: Name
    city: Name
    lat: Latitude
    lng: Longitude
    coord: Coord = "wgs84"
    radius_m: int = Field(1000, gt=0, le=MAX_RADIUS_M)
    timezone: TimeZoneName = "Asia/Shanghai"
    traffic_tier: Tier3 = "medium"
    spend_tier: Tier3 = "medium"
    member_day: Weekday | None = None
    idle_hour: HHMM | None = None
    group_capacity: int = Field(200, ge=1, le=MAX_GROUP_CAPACITY)
    status: StoreStatus = "open"
    address: str | None = Field(None, max_length=300)
    hours: WeekHoursIn | None = None  # None = not known (never gated); {} = closed every day
    afternoon_window: Interval | None = None  # where the idle hour is looked for; default 14:00-17:00


class StoreRow(StoreIn):
    store_id: EntityId


class StoreBatchIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    stores: list[StoreRow] = Field(min_length=1, max_length=10_000)

    @field_validator("stores")
    @classmethod
    def _unique_ids(cls, rows: list[StoreRow]) -> list[StoreRow]:
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            if row.store_id in seen:
                raise ValueError(f"store_id {row.store_id} appears at [{seen[row.store_id]}] and [{index}]")
            seen[row.store_id] = index
        return rows


class StoreBatchOut(ApiModel):
    upserted: int


class Store(ApiModel):
    store_id: str
    name: str
    city: str
    lat: float
    lng: float
    coord: Coord
    radius_m: int
    timezone: str
    traffic_tier: Tier3
    spend_tier: Tier3
    member_day: Weekday | None
    idle_hour: str | None
    group_capacity: int
    status: StoreStatus
    address: str | None = None
    hours: dict[str, list[str]] | None = None
    afternoon_window: str | None = None
    open_now: bool | None = None  # None when the hours are not known
    updated_at: datetime


class CoordQuery(ApiModel):
    coord: Coord = "wgs84"
