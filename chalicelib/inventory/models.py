"""A store's sellable items and their clearance rule (written by admins or the POS)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


class InventoryItem(Model):
    BASE_NAME = "inventory"

    class Meta:
        table_name = "inventory"

    store_id = UnicodeAttribute(hash_key=True)
    sku = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    qty = NumberAttribute()
    price_fen = NumberAttribute()
    discount_percent = NumberAttribute(null=True)  # null = no clearance rule
    clearance_from = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


MODELS = [InventoryItem]
