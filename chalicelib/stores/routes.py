"""HTTP routes for stores (admin writes, any role reads)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal, Role
from chalicelib.clock import get_clock
from chalicelib.geo.coords import to_wgs84
from chalicelib.stores import nearby, service
from chalicelib.stores.schemas import CoordQuery, Store, StoreBatchIn, StoreBatchOut, StoreIn
from chalicelib.web import endpoint

bp = Blueprint(__name__)
ANY_ROLE: tuple[Role, ...] = ("member", "staff", "admin")


@endpoint(bp, "PUT", "/stores/{store_id}", summary="Create or replace a store", roles=("admin",),
          body=StoreIn, response=Store, errors=(400, 401, 403))
def put_store(principal: Principal, store_id: str, body: StoreIn) -> Store:
    record = service.upsert_store(store_id, body, get_clock().now())
    return service.to_view(record)


@endpoint(bp, "POST", "/stores/batch", summary="Bulk upsert stores; a bad row fails the whole batch",
          roles=("admin",), body=StoreBatchIn, response=StoreBatchOut, errors=(400, 401, 403))
def batch_stores(principal: Principal, body: StoreBatchIn) -> StoreBatchOut:
    records = service.upsert_many([(row.store_id, row) for row in body.stores], get_clock().now())
    return StoreBatchOut(upserted=len(records))


@endpoint(bp, "GET", "/stores/nearby", summary="Open stores whose radius covers a point, nearest first",
          roles=ANY_ROLE, query=nearby.NearbyQuery, response=nearby.NearbyOut, errors=(400, 401))
def stores_nearby(principal: Principal, query: nearby.NearbyQuery) -> nearby.NearbyOut:
    lat, lng = to_wgs84(query.lat, query.lng, query.coord)
    lookup = nearby.find(lat, lng, query.limit)
    return nearby.NearbyOut(stores=[nearby.to_view(hit, query.coord) for hit in lookup.hits])


@endpoint(bp, "GET", "/stores/{store_id}", summary="Read a store", roles=ANY_ROLE,
          query=CoordQuery, response=Store, errors=(400, 401, 404))
def get_store(principal: Principal, store_id: str, query: CoordQuery) -> Store:
    return service.to_view(service.get_store(store_id), query.coord)
