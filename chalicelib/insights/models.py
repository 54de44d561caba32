"""Store facts kept by payments, and the policy state a refresh derives.

StoreWeek: one item per store per local ISO week (see insights/weeks.py),
168 hour slots of orders (`o000`..`o167`) and spend (`s000`..`s167`), plus
`last_visitors`: members whose latest visit to this store falls in this
week (so "distinct members in the last N weeks" is the sum over N items,
exactly; see insights/facts.py).

MemberVisit: (store, member) -> the week of that member's latest visit.

StorePolicy: per store, which fields follow the insights (`auto`) or are
pinned, the last refresh's derived values and figures, changes waiting
for the next local day, and the local day last refreshed for.
PolicyAudit: every change, who/what, old -> new. InsightsChain: the chain's
bands of the day and per-timezone progress of the hourly refresh."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
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
    # the store's local day ("2026-11-24") the last refresh ran for: the hourly
    # runs refresh a store once per local day (insights/refresh.py)
    refreshed_day = UnicodeAttribute(null=True)
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
    # "applied" rows: the refresh call that wrote it (insights/policy.apply_due tells its own lost answer by it)
    run = UnicodeAttribute(null=True)


class InsightsChain(Model):
    """The chain-wide state of the hourly refresh (insights/chain.py):
    `bands#<day>`: the chain's traffic/spend figures and the stores by
    timezone, computed once per chain day (blob = base64 zlib JSON);
    `zone#<tz>`: the last local day every store of that timezone was
    refreshed for (`day`)."""

    BASE_NAME = "insights-chain"

    class Meta:
        table_name = "insights-chain"

    key = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(null=True)
    blob = UnicodeAttribute(null=True)
    computed_at = UTCDateTimeAttribute(null=True)
    # zone: stores that failed on `day`, retried hourly
    retry: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    expires_at = TTLAttribute(null=True)  # bands items go after a week; zone stamps stay


MODELS = [StoreWeek, MemberVisit, StorePolicy, PolicyAudit, InsightsChain]
