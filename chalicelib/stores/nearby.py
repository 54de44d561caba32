"""Open stores whose own radius covers a point, nearest first.

Reads only the latitude bands covering a disk of the largest store radius in
use (`geo/bands.py`: one GSI Query per band, `lng BETWEEN` the disk's span,
at most 4, run concurrently), then keeps the stores whose own `radius_m`
reaches the point by exact great-circle distance. The items read depend on
how many stores are near the point, never on how many stores exist. The
index radius is cached per container (`service.max_radius_m`), so a lookup
is 1-4 Queries (2 for the demo's 1 km radius) and, every few seconds, one GetItem.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from threading import Lock

from pydantic import Field

from chalicelib.errors import ValidationFailed
from chalicelib.geo import bands
from chalicelib.geo.coords import distance_m
from chalicelib.schema import ApiModel
from chalicelib.stores import service
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.schemas import Store
from chalicelib.types import Coord, Latitude, Longitude

DEFAULT_LIMIT, MAX_LIMIT = 10, 50
_POOL_WORKERS = 8  # the bands of one lookup (and of concurrent lookups) are read in parallel


class NearbyQuery(ApiModel):
    lat: Latitude
    lng: Longitude
    coord: Coord = "wgs84"
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class NearbyStore(ApiModel):
    store: Store
    distance_m: float


class NearbyOut(ApiModel):
    stores: list[NearbyStore]


@dataclass(frozen=True)
class Hit:
    record: StoreRecord
    distance_m: float


@dataclass(frozen=True)
class Lookup:
    hits: list[Hit]
    items_read: int  # items the GSI queries returned (their ScannedCount)
    queries: int


def covering(records: Iterable[StoreRecord], lat: float, lng: float) -> list[Hit]:
    """Pure: the open stores whose own radius reaches (lat, lng), nearest
    first, ties by store_id so the order is stable. WGS-84 in."""
    hits = []
    for record in records:
        if record.status != "open":
            continue
        dist = distance_m(lat, lng, float(record.lat), float(record.lng))
        if dist <= float(record.radius_m):
            hits.append(Hit(record, dist))
    hits.sort(key=lambda h: (h.distance_m, h.record.store_id))
    return hits


_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


def _executor() -> ThreadPoolExecutor:
    """Built on first use and kept for the life of the process (a warm Lambda reuses it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_POOL_WORKERS, thread_name_prefix="nearby")
        return _pool


def _read_band(part: bands.Range) -> tuple[list[StoreRecord], int]:
    results = StoreRecord.by_band.query(part.band, StoreRecord.lng.between(part.lng_lo, part.lng_hi))
    records = list(results)
    return records, results.page_iter.total_scanned_count


def find(lat: float, lng: float, limit: int = DEFAULT_LIMIT, radius_m: float | None = None) -> Lookup:
    """Covering stores for a WGS-84 point. `radius_m` (the cover) defaults
    to the largest radius any store has had, so no store can be missed."""
    cover_m = service.max_radius_m(cached=True) if radius_m is None else radius_m
    if cover_m <= 0:
        return Lookup([], 0, 0)  # no store has ever been saved
    try:
        plan = bands.plan(lat, lng, cover_m)
    except bands.CoverTooLarge as exc:
        raise ValidationFailed.field("lat", "too close to a pole: the store index does not serve it") from exc
    if len(plan) == 1:
        pages = [_read_band(plan[0])]  # no thread hop
    else:
        pages = list(_executor().map(_read_band, plan))
    # a store sits in exactly one band per height and the spans never overlap
    records = [record for page, _ in pages for record in page]
    return Lookup(covering(records, lat, lng)[:limit], sum(read for _, read in pages), len(plan))


def to_view(hit: Hit, coord: Coord) -> NearbyStore:
    return NearbyStore(store=service.to_view(hit.record, coord), distance_m=round(hit.distance_m, 1))
