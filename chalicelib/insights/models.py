"""Store facts kept by payments, and the policy state a refresh derives.

StoreWeek: one item per store per local ISO week (see insights/weeks.py),
168 hour slots of orders (`o000`..`o167`) and spend (`s000`..`s167`), plus
`last_visitors`: members whose latest visit to this store falls in this
week (so "distinct members in the last N weeks" is the sum over N items,
exactly; see insights/facts.py).

MemberVisit: (store, member) -> the week of that member's latest visit.

StorePolicy: per store, which fields follow the insights (`auto`) or are
pinned, the last refresh's derived values and figures, and changes waiting
for the next local day. PolicyAudit: every change, who/what, old -> new."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.models import Model

from chalicelib.insights.weeks import HOURS_PER_WEEK, orders_attr, spend_attr


class StoreWeek(Model):
    BASE_NAME = "store-weeks"

    class Meta:
        table_name = "store-weeks"

    store_id = UnicodeAttribute(hash_key=True)
    week = UnicodeAttribute(range_key=True)  # "2026-W47", the store's local ISO week
    last_visitors = NumberAttribute(null=True)
    anonymous_orders = NumberAttribute(null=True)  # orders with no member (counted in the slots too)
    for _hour in range(HOURS_PER_WEEK):  # the class body namespace is the attribute table
        locals()[orders_attr(_hour)] = NumberAttribute(null=True)
        locals()[spend_attr(_hour)] = NumberAttribute(null=True)
    del _hour


class MemberVisit(Model):
    BASE_NAME = "member-visits"

    class Meta:
        table_name = "member-visits"

    store_id = UnicodeAttribute(hash_key=True)
    member_id = UnicodeAttribute(range_key=True)
    last_week = UnicodeAttribute()


class StorePolicy(Model):
    BASE_NAME = "store-policy"

    class Meta:
        table_name = "store-policy"

    store_id = UnicodeAttribute(hash_key=True)
    pins = JSONAttribute(null=True)  # field -> pinned value (absent = auto)
    derived = JSONAttribute(null=True)  # the last refresh: field -> {value, enough_data, figures, reason}
    refreshed_at = UTCDateTimeAttribute(null=True)
    pending = JSONAttribute(null=True)  # field -> {value, effective_from (local date), by}
    version = NumberAttribute(null=True)  # optimistic guard for read-modify-write of this item


class PolicyAudit(Model):
    BASE_NAME = "store-policy-audit"

    class Meta:
        table_name = "store-policy-audit"

    store_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # ISO instant#field#seq
    field = UnicodeAttribute()
    old = UnicodeAttribute(null=True)
    new = UnicodeAttribute(null=True)
    by = UnicodeAttribute()  # "insights" (auto) or "admin:<sub>"
    what = UnicodeAttribute()  # pin | unpin | applied | scheduled
    at = UTCDateTimeAttribute()
    effective_from = UnicodeAttribute(null=True)


MODELS = [StoreWeek, MemberVisit, StorePolicy, PolicyAudit]
