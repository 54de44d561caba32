from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


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


MODELS = [StaffRecord]
