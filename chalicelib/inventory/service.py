"""Inventory storage. The item's qty is what the POS reports; the day's
clearance coupon stock is set from it at the idle hour."""

from __future__ import annotations

from datetime import datetime

from chalicelib.inventory.clearance import ClearanceItem, clearance_price
from chalicelib.inventory.models import InventoryItem
from chalicelib.inventory.schemas import ClearanceRule, InventoryIn, InventoryOut


def put_item(store_id: str, sku: str, data: InventoryIn, now: datetime) -> InventoryItem:
    """A full replace of the item (the POS sends the whole line each time)."""
    rule = data.clearance
    item = InventoryItem(store_id, sku, name=data.name, qty=data.qty, price_fen=data.price_fen,
                         discount_percent=rule.discount_percent if rule else None,
                         clearance_from=rule.from_ if rule else None, updated_at=now)
    item.save()
    return item


def store_items(store_id: str) -> list[InventoryItem]:
    return list(InventoryItem.query(store_id))


def to_domain(item: InventoryItem) -> ClearanceItem:
    return ClearanceItem(sku=item.sku, name=item.name, qty=int(item.qty), price_fen=int(item.price_fen),
                         discount_percent=int(item.discount_percent) if item.discount_percent else None,
                         from_hhmm=item.clearance_from)


def to_view(item: InventoryItem) -> InventoryOut:
    rule = (ClearanceRule.model_validate({"discount_percent": int(item.discount_percent),
                                          "from": item.clearance_from or "00:00"})
            if item.discount_percent else None)
    price = clearance_price(int(item.price_fen), rule.discount_percent) if rule else None
    return InventoryOut(store_id=item.store_id, sku=item.sku, name=item.name, qty=int(item.qty),
                        price_fen=int(item.price_fen), clearance=rule, clearance_price_fen=price,
                        updated_at=item.updated_at)
