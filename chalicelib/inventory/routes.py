"""Inventory lines from admins or the store's POS (a staff token of that store)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.inventory import service
from chalicelib.inventory.schemas import InventoryIn, InventoryList, InventoryOut
from chalicelib.stores.service import get_store
from chalicelib.web import endpoint

bp = Blueprint(__name__)


@endpoint(bp, "PUT", "/stores/{store_id}/inventory/{sku}", summary="Set an item's qty, price and clearance rule",
          roles=("admin", "staff"), body=InventoryIn, response=InventoryOut, errors=(400, 401, 403, 404), pos=True,
          operation_id="putInventoryItem")
def put_item(principal: Principal, store_id: str, sku: str, body: InventoryIn) -> InventoryOut:
    principal.require_store(store_id)
    get_store(store_id)
    return service.to_view(service.put_item(store_id, sku, body, get_clock().now()))


@endpoint(bp, "GET", "/stores/{store_id}/inventory", summary="A store's inventory lines",
          roles=("admin", "staff"), response=InventoryList, errors=(400, 401, 403, 404), operation_id="listInventory")
def list_items(principal: Principal, store_id: str) -> InventoryList:
    principal.require_store(store_id)
    get_store(store_id)  # unknown ids are 404, not an empty list
    return InventoryList(items=[service.to_view(i) for i in service.store_items(store_id)])
