"""Request and response shapes for store insights, policy pins and hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from chalicelib.schema import ApiModel
from chalicelib.stores.schemas import Interval, WeekHoursIn
from chalicelib.types import HHMM, Tier3, Weekday

PolicyField = Literal["traffic_tier", "spend_tier", "member_day", "idle_hour"]


class Pending(ApiModel):
    value: str | None
    effective_from: str  # the store's local date the change takes effect
    by: str


class FieldInsight(ApiModel):
    current: str | None  # what the store uses today
    mode: Literal["auto", "pinned"]
    pinned_value: str | None = None
    derived: str | None  # what the numbers say (None: too little data, see reason)
    enough_data: bool
    reason: str
    figures: dict[str, Any]
    pending: Pending | None  # a change waiting for the next local day


class AuditEntry(ApiModel):
    at: datetime
    field: str
    what: str  # pin | unpin | scheduled | applied
    old: str | None
    new: str | None
    by: str
    effective_from: str | None


class InsightsOut(ApiModel):
    store_id: str
    refreshed_at: datetime | None  # None: no refresh has looked at this store yet
    weeks: int
    facts: dict[str, Any]  # orders, spend, average ticket, distinct members over the window
    fields: dict[str, FieldInsight]
    audit: list[AuditEntry]


class PinValues(ApiModel):
    """A field present pins it (member_day/idle_hour null = pinned to none)."""

    model_config = ConfigDict(extra="forbid")

    traffic_tier: Tier3 | None = None
    spend_tier: Tier3 | None = None
    member_day: Weekday | None = None
    idle_hour: HHMM | None = None


class PolicyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    pin: PinValues = Field(default_factory=PinValues)
    unpin: list[PolicyField] = Field(default_factory=list, max_length=4)


class HoursIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    hours: WeekHoursIn | None  # null = unknown (never gated); {} = closed every day
    afternoon_window: Interval | None = None  # where the idle hour is looked for (default 14:00-17:00)
