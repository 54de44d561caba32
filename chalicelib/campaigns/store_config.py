"""Changing a store's configuration: the store, then its post slots.

`stores/` saves stores and knows nothing of campaigns; the slot schedule
index is campaigns' own. Every change that can move a store's slots
(timezone, idle hour, status, opening hours) goes through here, which
saves the store first and then re-files its slots, so a tick never reads
an index entry for a configuration not yet saved. Entrypoints (routes, the
CLI, benches) call these; nothing below them does."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.campaigns.schedule import reindex_stores
from chalicelib.stores import listing, service
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.schemas import StoreIn


def save_store(store_id: str, data: StoreIn, now: datetime, if_updated_at: datetime | None = None) -> StoreRecord:
    record = service.upsert_store(store_id, data, now, if_updated_at=if_updated_at)
    reindex_stores([record], now)
    return record


def save_stores(rows: list[tuple[str, StoreIn]], now: datetime) -> list[StoreRecord]:
    records = service.upsert_many(rows, now)
    reindex_stores(records, now)
    return records


def patch_store(store_id: str, patch: dict[str, Any], if_match: str | None, now: datetime) -> StoreRecord:
    record = listing.patch_store(store_id, patch, if_match, now)
    reindex_stores([record], now)
    return record


def save_hours(store_id: str, week: Mapping[str, list[str]] | None, afternoon_window: str | None,
               now: datetime) -> StoreRecord:
    """A slot now outside the hours is moved or dropped (campaigns/slots.fit_to_hours)."""
    record = service.set_hours(store_id, week, afternoon_window, now)
    reindex_stores([record], now)
    return record
