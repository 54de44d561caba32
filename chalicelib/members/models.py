"""A member's profile plus the state other capabilities keep on it
(group membership from groups/, order history from payments/)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


class MemberRecord(Model):
    BASE_NAME = "members"

    class Meta:
        table_name = "members"

    member_id = UnicodeAttribute(hash_key=True)
    nickname = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # personal data: masked to everyone but the member
    created_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    # groups/
    home_store_id = UnicodeAttribute(null=True)
    group_id = UnicodeAttribute(null=True)
    # payments/ (the tier is derived from these at read time: payments.tiers)
    orders_total = NumberAttribute(null=True)
    spend_total_fen = NumberAttribute(null=True)
    last_order_at = UTCDateTimeAttribute(null=True)
    # RFM scores as of `rfm_at` (members/rfm.py), rewritten after each payment
    # and refund; readers re-score recency against their own `now`
    rfm_r = NumberAttribute(null=True)
    rfm_f = NumberAttribute(null=True)
    rfm_m = NumberAttribute(null=True)
    rfm_segment = UnicodeAttribute(null=True)
    rfm_at = UTCDateTimeAttribute(null=True)


MODELS = [MemberRecord]
