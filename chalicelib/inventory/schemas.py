"""Request and response shapes for inventory."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from chalicelib.schema import ApiModel
from chalicelib.types import HHMM, Fen, Name


class ClearanceRule(ApiModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    discount_percent: int = Field(ge=1, le=99)
    from_: HHMM = Field(alias="from")


class InventoryIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    qty: int = Field(ge=0, le=1_000_000)
    price_fen: Fen = Field(gt=0)
    clearance: ClearanceRule | None = None


class InventoryOut(ApiModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    store_id: str
    sku: str
    name: str
    qty: int
    price_fen: int
    clearance: ClearanceRule | None
    clearance_price_fen: int | None
    updated_at: datetime


class InventoryList(ApiModel):
    items: list[InventoryOut]
