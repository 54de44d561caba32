from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class ByStore(GlobalSecondaryIndex["StaffRecord"]):
    """A store's roster, by staff id (`GET /stores/{id}/staff`)."""

    class Meta:
        index_name = "by_store"
        projection = AllProjection()

    store_id = UnicodeAttribute(hash_key=True)
    staff_id = UnicodeAttribute(range_key=True)


class StaffRecord(Model):
    BASE_NAME = "staff"

    class Meta:
        table_name = "staff"

    staff_id = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute()
    role = UnicodeAttribute()  # clerk | manager
    updated_at = UTCDateTimeAttribute()
    status = UnicodeAttribute(null=True)  # active (default) | disabled
    tokens_valid_after = UTCDateTimeAttribute(null=True)  # tokens issued before this are refused

    by_store = ByStore()


MODELS = [StaffRecord]
