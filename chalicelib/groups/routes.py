"""HTTP routes for groups: members join, admins bind chats, staff list."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.errors import NotFound
from chalicelib.groups import service
from chalicelib.groups.errors import NoStoreNearby, StoreClosed
from chalicelib.groups.schemas import Group, GroupPatch, JoinIn, JoinOut, StoreGroupsOut
from chalicelib.web import endpoint

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/groups/join", summary="Join the nearest covering store's group, or a named store's",
          roles=("member",), body=JoinIn, response=JoinOut, errors=(NotFound, NoStoreNearby, StoreClosed))
def join_group(principal: Principal, body: JoinIn) -> JoinOut:
    now = get_clock().now()
    if body.store_id is not None:
        return service.join_by_id(principal.sub, body.store_id, now)
    assert body.lat is not None and body.lng is not None  # JoinIn guarantees one form or the other
    return service.join_nearest(principal.sub, body.lat, body.lng, body.coord, now)


@endpoint(bp, "PUT", "/groups/{group_id}", summary="Bind a group to its chat and group-robot webhook",
          roles=("admin",), body=GroupPatch, response=Group, errors=(400, 401, 403, 404))
def put_group(principal: Principal, group_id: str, body: GroupPatch) -> Group:
    return service.update_group(group_id, body)


@endpoint(bp, "GET", "/stores/{store_id}/groups", summary="A store's groups with their member counts",
          roles=("staff", "admin"), response=StoreGroupsOut, errors=(400, 401, 403, 404))
def list_store_groups(principal: Principal, store_id: str) -> StoreGroupsOut:
    principal.require_store(store_id)
    return service.list_groups(store_id)
