"""Store configuration: upsert (one or thousands), read, and the geo-index
bookkeeping that goes with it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.clock import get_clock
from chalicelib.errors import NotFound
from chalicelib.etags import PreconditionFailed
from chalicelib.geo import bands, cells
from chalicelib.geo.coords import Coord, from_wgs84, to_wgs84
from chalicelib.settings import get_settings
from chalicelib.stores import hours
from chalicelib.stores.models import LIST_KEY, GeoMeta, StoreRecord
from chalicelib.stores.schemas import Store, StoreIn
from chalicelib.txn import is_condition_failure, put_each, resending

_MAX_RADIUS_KEY = "max_radius"


def to_record(store_id: str, data: StoreIn, now: datetime) -> StoreRecord:
    lat, lng = to_wgs84(data.lat, data.lng, data.coord)
    return StoreRecord(
        store_id=store_id, name=data.name, city=data.city, lat=round(lat, 7), lng=round(lng, 7),
        radius_m=data.radius_m, timezone=data.timezone, traffic_tier=data.traffic_tier,
        spend_tier=data.spend_tier, member_day=data.member_day, idle_hour=data.idle_hour,
        group_capacity=data.group_capacity, status=data.status,
        cell5=cells.encode(lat, lng, 5), cell6=cells.encode(lat, lng, 6),
        band=bands.band(round(lat, 7), bands.HEIGHT_DEG),
        updated_at=now,
        list_key=LIST_KEY, city_key=f"{data.city}#{store_id}",
        address=data.address, afternoon_window=data.afternoon_window,
        hours=None if data.hours is None else hours.dumps(
            {day: [hours.parse_interval(i) for i in spans] for day, spans in data.hours.items()}),
    )


def to_view(record: StoreRecord, coord: Coord = "wgs84", now: datetime | None = None) -> Store:
    lat, lng = from_wgs84(record.lat, record.lng, coord)
    week = hours.loads(record.hours)
    at = now or get_clock().now()
    return Store(
        store_id=record.store_id, name=record.name, city=record.city, lat=round(lat, 7),
        lng=round(lng, 7), coord=coord, radius_m=int(record.radius_m), timezone=record.timezone,
        traffic_tier=record.traffic_tier, spend_tier=record.spend_tier,  # type: ignore[arg-type]
        member_day=record.member_day, idle_hour=record.idle_hour,  # type: ignore[arg-type]
        group_capacity=int(record.group_capacity), status=record.status,  # type: ignore[arg-type]
        address=record.address, afternoon_window=record.afternoon_window,
        hours=None if week is None else {d: [hours.fmt_interval(i) for i in spans] for d, spans in week.items()},
        open_now=None if week is None else (record.status == "open" and hours.open_at(week, at, record.timezone)),
        updated_at=record.updated_at,
    )


def upsert_store(store_id: str, data: StoreIn, now: datetime,
                 if_updated_at: datetime | None = None) -> StoreRecord:
    """`if_updated_at`: write only over that version (If-Match); else 412."""
    if if_updated_at is not None and now <= if_updated_at:
        now = if_updated_at + timedelta(microseconds=1)  # a new ETag for every write
    record = to_record(store_id, data, now)
    # Raise the index radius first: a store saved before its radius is known
    # to the index could be missed by nearby queries in between.
    raise_max_radius(int(record.radius_m))
    if if_updated_at is None:
        # Never over a newer version: two saves racing land in the order of
        # their versions, not of their arrival, so the store and its slot
        # index (filed by version, campaigns/schedule.reindex) agree on the
        # winner. A save refused here was superseded: it is answered as done
        # (then overwritten by the newer one). Repeating the put is harmless.
        try:
            resending(lambda: record.save(condition=StoreRecord.store_id.does_not_exist()
                                          | (StoreRecord.updated_at <= now)))
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
        return record
    try:
        resending(lambda: record.save(condition=StoreRecord.updated_at == if_updated_at))
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        # A re-send of our own write whose answer was lost fails its guard
        # (the version moved on, to ours): the same item stored means it is ours.
        if _stored(store_id) != record.serialize():
            raise PreconditionFailed() from exc
    return record


def _stored(store_id: str) -> dict[str, Any] | None:
    try:
        return StoreRecord.get(store_id, consistent_read=True).serialize()
    except DoesNotExist:
        return None


def upsert_many(rows: list[tuple[str, StoreIn]], now: datetime) -> list[StoreRecord]:
    """Rows are validated whole before this is called, so a bad row writes
    nothing; every item is a complete store (no half-written store), and the
    upsert is idempotent, so a retried batch converges. Each store is put
    only over an older version of itself, as `upsert_store` does: a bulk
    import racing a single save of the same store lands in version order, so
    the store and its slot index agree on the winner; a row refused so was
    superseded and is answered as done."""
    records = [to_record(store_id, data, now) for store_id, data in rows]
    if records:
        raise_max_radius(max(int(r.radius_m) for r in records))
    newer_only = StoreRecord.store_id.does_not_exist() | (StoreRecord.updated_at <= now)
    put_each([(record, newer_only) for record in records], what="the store import")
    return records


def set_hours(store_id: str, week: Mapping[str, list[str]] | None, afternoon_window: str | None,
              now: datetime) -> StoreRecord:
    """Only the hours fields (UpdateItem: the rest of the store is untouched)."""
    text = None if week is None else hours.dumps(
        {day: [hours.parse_interval(i) for i in spans] for day, spans in week.items()})
    actions: list[Action] = [StoreRecord.hours.set(text) if text is not None else StoreRecord.hours.remove(),
               StoreRecord.afternoon_window.set(afternoon_window) if afternoon_window
               else StoreRecord.afternoon_window.remove(),
               StoreRecord.updated_at.set(now)]
    try:  # never over a newer version (as upsert_store): a newer whole-store save has its own hours
        StoreRecord(store_id).update(actions=actions,
                                     condition=StoreRecord.store_id.exists() & (StoreRecord.updated_at <= now))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        if _stored(store_id) is None:
            raise NotFound(f"store {store_id} not found") from exc
        # superseded: answered with the store as the newer save left it
    return StoreRecord.get(store_id, consistent_read=True)


def get_store(store_id: str) -> StoreRecord:
    try:
        return StoreRecord.get(store_id)
    except DoesNotExist as exc:
        raise NotFound(f"store {store_id} not found") from exc


# The index radius, cached per container for MAX_RADIUS_TTL_S: every nearby
# lookup needs it, and it changes only when a store gets a radius larger than
# any before. Staleness accepted: for up to MAX_RADIUS_TTL_S after such an
# upsert, *other* containers may miss that store from the outer part of its
# new radius (the container that saved it knows at once).
MAX_RADIUS_TTL_S = 10.0
_max_radius: tuple[object, float, int] | None = None  # (settings, read at, value)


def raise_max_radius(radius_m: int) -> None:
    """Guarded max: concurrent upserts can only raise it, never lower it."""
    global _max_radius
    _max_radius = None
    try:
        GeoMeta(_MAX_RADIUS_KEY).update(
            actions=[GeoMeta.max_radius_m.set(radius_m)],
            condition=GeoMeta.max_radius_m.does_not_exist() | (GeoMeta.max_radius_m < radius_m),
        )
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def max_radius_m(cached: bool = False) -> int:
    global _max_radius
    settings, now = get_settings(), time.monotonic()
    if cached and _max_radius is not None and _max_radius[0] is settings and now - _max_radius[1] < MAX_RADIUS_TTL_S:
        return _max_radius[2]
    try:
        value = int(GeoMeta.get(_MAX_RADIUS_KEY).max_radius_m or 0)
    except DoesNotExist:
        value = 0
    _max_radius = (settings, now, value)
    return value

