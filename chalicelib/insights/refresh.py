"""The daily store insights refresh (storage + the pure rules).

Reads O(stores) items and never a payment: one Scan page stream of the
stores table, one BatchGet of policy items per 100 stores, and per store one
Query of its week items (N complete weeks plus the current one, whose
`last_visitors` counts members seen this week). Two passes: numbers first
(the chain's bands need every store's figures), then each store's
decision. Per store: apply the changes whose local day has come, derive,
schedule what differs for the next local day, save the policy item."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib import logs, retry
from chalicelib.campaigns.schedule import reindex_stores
from chalicelib.clock import local_time
from chalicelib.insights import policy as policies
from chalicelib.insights.models import StorePolicy, StoreWeek
from chalicelib.insights.rules import FIELDS, Numbers, derive, target
from chalicelib.insights.weeks import HOURS_PER_WEEK, orders_attr, spend_attr, week_key, window
from chalicelib.stores import hours as store_hours
from chalicelib.stores.models import StoreRecord

AUTO = "insights"
log = logs.get_logger("insights")


@dataclass
class RefreshSummary:
    at: datetime
    stores: int = 0
    items_read: int = 0
    scheduled: int = 0
    applied: int = 0
    kept: int = 0  # fields left as they are for too little data
    errors: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        per_store = self.items_read / self.stores if self.stores else 0.0
        return (f"insights at={self.at.isoformat()} stores={self.stores} items_read={self.items_read} "
                f"items_per_store={per_store:.1f} scheduled={self.scheduled} applied={self.applied} "
                f"kept_for_lack_of_data={self.kept} errors={self.errors}")


def read_numbers(store: StoreRecord, now: datetime, weeks: int) -> tuple[Numbers, int]:
    first, last = window(now, store.timezone, weeks)
    current = week_key(local_time(now, store.timezone).date())
    numbers = Numbers()
    read = 0
    for item in StoreWeek.query(store.store_id, StoreWeek.week.between(first, current)):
        read += 1
        numbers.distinct_members += int(item.last_visitors or 0)
        if item.week > last:
            continue  # the current, partial week: visitors only
        orders = [int(getattr(item, orders_attr(h)) or 0) for h in range(HOURS_PER_WEEK)]
        if any(orders):
            numbers.weeks_with_data += 1
        numbers.anonymous_orders += int(item.anonymous_orders or 0)
        for h in range(HOURS_PER_WEEK):
            numbers.orders[h] += orders[h]
            numbers.spend_fen[h] += int(getattr(item, spend_attr(h)) or 0)
    return numbers, read


def run_refresh(now: datetime, weeks: int, store_ids: list[str] | None = None,
                workers: int = 8) -> RefreshSummary:
    """Both passes run `workers` stores at a time (each store's reads and
    writes are its own; the chain bands sit between the passes)."""
    summary = RefreshSummary(at=now)
    stores = list(StoreRecord.scan()) if store_ids is None else list(StoreRecord.batch_get(store_ids))
    summary.items_read += len(stores)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        read = list(pool.map(lambda s: read_numbers(s, now, weeks), stores))
        numbers = {s.store_id: n for s, (n, _) in zip(stores, read, strict=True)}
        summary.items_read += sum(count for _, count in read)
        enough = [n for n in numbers.values() if n.enough()]
        traffic_chain = sorted(n.weekly_orders for n in enough)
        spend_chain = sorted(float(n.avg_ticket_fen) for n in enough)
        found: dict[str, StorePolicy] = {}
        for start in range(0, len(stores), 100):
            for p in StorePolicy.batch_get([s.store_id for s in stores[start:start + 100]]):
                found[p.store_id] = p
        summary.items_read += len(found)

        def one(store: StoreRecord) -> RefreshSummary:
            mine = RefreshSummary(at=now)
            insights = derive(numbers[store.store_id], store_hours.loads(store.hours), store.afternoon_window,
                              traffic_chain, spend_chain)
            try:
                _decide(store, found.get(store.store_id), insights, numbers[store.store_id], now, mine)
            except Exception:  # noqa: BLE001 - one store's failure must not stop the chain's refresh
                log.exception("insights refresh failed for a store", extra={"fields": {"store_id": store.store_id}})
                mine.errors += 1
            return mine

        for mine in pool.map(one, stores):
            summary.stores += 1
            summary.scheduled += mine.scheduled
            summary.applied += mine.applied
            summary.kept += mine.kept
            summary.errors += mine.errors
    return summary


def _decide(store: StoreRecord, policy: StorePolicy | None, insights: dict[str, Any], numbers: Numbers,
            now: datetime, summary: RefreshSummary) -> None:
    for attempt in retry.attempts(what="the insights refresh"):
        if policy is None or attempt > 0:
            policy = policies.read(store.store_id)
        changed = policies.apply_due(store, policy, now)
        summary.applied += len(changed)
        if "idle_hour" in changed:
            reindex_stores([store], now)  # the clearance slot moves with it
        pins: dict[str, Any] = dict(policy.pins or {})
        for name in FIELDS:
            insight = insights[name]
            if name not in pins and not insight.enough_data:
                summary.kept += 1
            value = target(policies.store_value(store, name), pins.get(name), name in pins, insight)
            if policies.schedule(store, policy, name, value, "admin-pin" if name in pins else AUTO, now):
                summary.scheduled += 1
        policy.derived = {name: insights[name].to_json() for name in FIELDS} | {"facts": numbers.figures()}
        policy.refreshed_at = now
        try:
            policies.save(policy)
            return
        except policies.VersionMoved:
            continue
