"""HTTP routes for stores (admin writes, any role reads)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib import etags
from chalicelib.auth import Principal, Role
from chalicelib.campaigns import store_config
from chalicelib.clock import get_clock
from chalicelib.geo.coords import to_wgs84
from chalicelib.stores import listing, nearby, service
from chalicelib.stores.schemas import CoordQuery, Store, StoreBatchIn, StoreBatchOut, StoreIn
from chalicelib.web import WithHeaders, endpoint

bp = Blueprint(__name__)
ANY_ROLE: tuple[Role, ...] = ("member", "staff", "admin")


def _tagged(record: service.StoreRecord, coord: str = "wgs84") -> WithHeaders:
    return WithHeaders(service.to_view(record, coord), {"ETag": listing.etag(record)})  # type: ignore[arg-type]


@endpoint(bp, "PUT", "/stores/{store_id}", summary="Create or replace a store (If-Match: only over that version)",
          roles=("admin",), body=StoreIn, response=Store, errors=(404, etags.PreconditionFailed))
def put_store(principal: Principal, store_id: str, body: StoreIn, if_match: str | None) -> WithHeaders:
    expected = None
    if if_match is not None and if_match.strip() != "*":
        current = service.get_store(store_id)
        etags.require(if_match, listing.etag(current))
        expected = current.updated_at
    return _tagged(store_config.save_store(store_id, body, get_clock().now(), if_updated_at=expected))


@endpoint(bp, "PATCH", "/stores/{store_id}", summary="Change some fields of a store (JSON merge patch)",
          roles=("admin",), body=etags.MergePatch, response=Store, errors=(404, etags.PreconditionFailed))
def patch_store(principal: Principal, store_id: str, body: etags.MergePatch, if_match: str | None) -> WithHeaders:
    return _tagged(store_config.patch_store(store_id, body.patch(), if_match, get_clock().now()))


@endpoint(bp, "GET", "/stores", summary="Stores by city, tier, status or text, cursor-paged (admin)",
          roles=("admin",), query=listing.StoreListQuery, response=listing.StoreList, errors=(400, 401, 403))
def list_stores(principal: Principal, query: listing.StoreListQuery) -> listing.StoreList:
    records, cursor = listing.list_stores(query)
    return listing.StoreList(stores=[service.to_view(r) for r in records], next_cursor=cursor)


@endpoint(bp, "POST", "/stores/batch", summary="Bulk upsert stores; a bad row fails the whole batch",
          roles=("admin",), body=StoreBatchIn, response=StoreBatchOut, errors=(400, 401, 403))
def batch_stores(principal: Principal, body: StoreBatchIn) -> StoreBatchOut:
    records = store_config.save_stores([(row.store_id, row) for row in body.stores], get_clock().now())
    return StoreBatchOut(upserted=len(records))


@endpoint(bp, "GET", "/stores/nearby", summary="Open stores whose radius covers a point, nearest first",
          roles=ANY_ROLE, query=nearby.NearbyQuery, response=nearby.NearbyOut, errors=(400, 401))
def stores_nearby(principal: Principal, query: nearby.NearbyQuery) -> nearby.NearbyOut:
    lat, lng = to_wgs84(query.lat, query.lng, query.coord)
    lookup = nearby.find(lat, lng, query.limit)
    return nearby.NearbyOut(stores=[nearby.to_view(hit, query.coord) for hit in lookup.hits])


@endpoint(bp, "GET", "/stores/{store_id}", summary="Read a store (with its ETag)", roles=ANY_ROLE,
          query=CoordQuery, response=Store, errors=(400, 401, 404))
def get_store(principal: Principal, store_id: str, query: CoordQuery) -> WithHeaders:
    return _tagged(service.get_store(store_id), query.coord)
