"""HTTP routes for groups: members join, admins bind chats, staff list,
staff register the store's WeCom seed groups (its join way) and read the ledger."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.groups import join_ways, service
from chalicelib.groups.errors import NoStoreNearby, StoreClosed
from chalicelib.groups.schemas import Group, GroupPatch, JoinIn, JoinOut, StoreGroupsOut
from chalicelib.settings import get_settings
from chalicelib.stores.service import get_store
from chalicelib.web import endpoint
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComOff, WeComUnavailable
from chalicelib.wecom.schemas import JoinWayIn, StoreWeComOut

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


@endpoint(bp, "PUT", "/stores/{store_id}/wecom", summary="Register the store's seed WeCom customer groups; "
          "Storeloop creates or updates the store's join way", roles=("staff", "admin"), body=JoinWayIn,
          response=StoreWeComOut, errors=(NotFound, WeComOff, join_ways.UnknownChat, join_ways.JoinWayRefused,
                                          join_ways.JoinWayBusy, join_ways.ChatOfAnotherStore, WeComUnavailable))
def put_store_wecom(principal: Principal, store_id: str, body: JoinWayIn) -> StoreWeComOut:
    principal.require_store(store_id)
    store = get_store(store_id)
    if len(set(body.seed_chat_ids)) != len(body.seed_chat_ids):
        raise ValidationFailed.field("seed_chat_ids", "must not repeat a chat id")
    join_ways.register(WeComClient(get_settings()), store, body.seed_chat_ids, get_clock().now())
    return service.wecom_view(store_id)


@endpoint(bp, "GET", "/stores/{store_id}/wecom", summary="The store's join way, WeCom groups as the ledger "
          "knows them, and alerts for groups posts cannot reach", roles=("staff", "admin"),
          response=StoreWeComOut, errors=(NotFound,))
def get_store_wecom(principal: Principal, store_id: str) -> StoreWeComOut:
    principal.require_store(store_id)
    get_store(store_id)
    return service.wecom_view(store_id)


