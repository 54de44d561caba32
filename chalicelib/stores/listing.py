"""`GET /stores` (search and filter, cursor-paged) and `PATCH /stores/{id}`.

Served by the `by_listing` GSI (hash `list_key` = "store", range
`city_key` = city#store_id): a city filter is a `begins_with` key
condition; tiers, status and text are a FilterExpression on the same Query.
Never a Scan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from chalicelib import etags, pages
from chalicelib.schema import ApiModel
from chalicelib.stores import service
from chalicelib.stores.models import LIST_KEY, StoreRecord
from chalicelib.stores.schemas import Store, StoreIn, StoreStatus
from chalicelib.types import Name, Tier3
from chalicelib.web import patched


class StoreListQuery(pages.PageQuery):
    model_config = ConfigDict(extra="forbid")

    city: Name | None = None
    traffic_tier: Tier3 | None = None
    spend_tier: Tier3 | None = None
    status: StoreStatus | None = None
    q: str | None = Field(None, min_length=1, max_length=64, description="part of the name, or an id prefix")


class StoreList(ApiModel):
    stores: list[Store]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null = no more")


def list_stores(query: StoreListQuery) -> tuple[list[StoreRecord], str | None]:
    key_condition = StoreRecord.city_key.startswith(f"{query.city}#") if query.city else None
    conditions: list[Any] = []
    if query.traffic_tier:
        conditions.append(StoreRecord.traffic_tier == query.traffic_tier)
    if query.spend_tier:
        conditions.append(StoreRecord.spend_tier == query.spend_tier)
    if query.status:
        conditions.append(StoreRecord.status == query.status)
    if query.q:
        conditions.append(StoreRecord.name.contains(query.q) | StoreRecord.store_id.startswith(query.q))
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    page = pages.query_page(f"stores|{query.city or ''}", StoreRecord.by_listing.query, LIST_KEY, query,
                            range_condition=key_condition, filter_condition=combined)
    return page.items, page.next_cursor


def etag(record: StoreRecord) -> str:
    return etags.of_time(record.updated_at)


def patch_store(store_id: str, patch: dict[str, Any], if_match: str | None, now: datetime) -> StoreRecord:
    """Merge-patch onto the stored store; the write is conditional on the
    version read (`updated_at`), so a concurrent edit gives 412, not a lost
    update. With `If-Match`, the version read must also be the client's."""
    current = service.get_store(store_id)
    etags.require(if_match, etag(current))
    view = service.to_view(current).model_dump(mode="json")
    data = patched(StoreIn, view, patch, {"store_id": [view["store_id"]]})
    return service.upsert_store(store_id, data, now, if_updated_at=current.updated_at)

