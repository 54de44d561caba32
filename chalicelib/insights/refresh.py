"""The store insights refresh (storage + the pure rules), run every hour.

Each run refreshes exactly the stores whose local day has started (00:05
local) since their last refresh, so every store gets its new rules at its
own local midnight (docs/insights.md). Reads never a payment:

- the chain day's first run (00:05 in `chain.CHAIN_TZ`) does the full pass:
  one Scan page stream of the stores table, their policy items (BatchGet),
  and one Query of week items (N complete weeks plus the current one, whose
  `last_visitors` counts members seen this week) per store due now;
  the stores of other zones enter the chain's bands by the figures of their
  own last refresh (read again at their own midnight). Bands and the stores
  by timezone are kept in one item (`insights/chain.py`);
- every other run reads that item and the zone stamps, and for the zones
  whose day has come: their stores and policy items (BatchGet) and week
  items.

Per store: apply the changes whose local day has come, derive, schedule what
differs for the next local day, save the policy item stamped with the local
day (under its version guard: a repeated or concurrent run finds the stamp
and does nothing). A zone's stamp is raised once its stores have been
tried; the stores that failed are listed on it and retried alone hourly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import logs, retry
from chalicelib.campaigns.schedule import reindex_stores
from chalicelib.clock import local_time
from chalicelib.insights import chain
from chalicelib.insights import policy as policies
from chalicelib.insights.models import StorePolicy, StoreWeek
from chalicelib.insights.rules import FIELDS, Numbers, derive, enough, target
from chalicelib.insights.weeks import HOURS_PER_WEEK, orders_attr, spend_attr, week_key, window
from chalicelib.stores import hours as store_hours
from chalicelib.stores.models import StoreRecord

AUTO = "insights"
FIGURES_FRESH = timedelta(hours=48)  # a store's own last figures stand in for it in the day's bands
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
    already: int = 0  # due by their zone, but already refreshed for their local day
    bands: str = "read"  # "computed": this run did the chain day's full pass
    zones: list[str] = field(default_factory=list)  # timezones whose day this run handled
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        per_store = self.items_read / self.stores if self.stores else 0.0
        return (f"insights at={self.at.isoformat()} stores={self.stores} items_read={self.items_read} "
                f"items_per_store={per_store:.1f} scheduled={self.scheduled} applied={self.applied} "
                f"kept_for_lack_of_data={self.kept} errors={self.errors} already={self.already} "
                f"bands={self.bands} zones={','.join(self.zones) or '-'}")


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
    """The hourly run (`store_ids` None): refresh every store whose local
    day has started since its last refresh, with the chain day's bands
    (computed by this run if it is the chain day's first). With `store_ids`:
    those stores now, whatever their stamps (the CLI's `--store`), against
    the day's bands if computed, else bands of just those stores."""
    summary = RefreshSummary(at=now)
    day = chain.local_day(now, chain.CHAIN_TZ)
    bands = chain.read_bands(day)
    summary.items_read += 1 if bands else 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        numbers: dict[str, Numbers] = {}
        if store_ids is not None:
            stores = _get_stores(store_ids, summary)
            if bands is None:
                _read_all_numbers(pool, stores, now, weeks, numbers, summary)
                bands = _bands(day, stores, numbers, now)
                summary.bands = "these-stores"
            _refresh(pool, stores, bands, numbers, now, weeks, summary, force=True)
            return summary
        found: dict[str, StorePolicy] | None = None
        if bands is None:  # the chain day's first run: the one full pass
            stores = list(StoreRecord.scan())
            summary.items_read += len(stores)
            by_zone: dict[str, list[str]] = {}
            for s in stores:
                by_zone.setdefault(s.timezone, []).append(s.store_id)
            due, retrying = _due_zones(now, by_zone, summary)
            todo = _wanted(by_zone, due, retrying)
            found = _get_policies(stores, summary)
            # the stores due now: their week items (read once, kept for their refresh below); the others:
            # the figures of their own last refresh (at most 48 h old), read again at their own midnight
            parts: dict[str, list[int]] = {}
            for s in stores:
                part = None if s.store_id in todo else _last_figures(found.get(s.store_id), now)
                if part is not None:
                    parts[s.store_id] = part
            _read_all_numbers(pool, [s for s in stores if s.store_id not in parts], now, weeks, numbers, summary)
            parts |= {sid: [n.total_orders, n.weeks_with_data, n.avg_ticket_fen] for sid, n in numbers.items()}
            bands = chain.Bands(day=day, parts=[p for p in parts.values() if enough(p[0], p[1])], zones=by_zone,
                                computed_at=now)
            bands = chain.save_bands(bands, now)
            summary.bands = "computed"
            stores = [s for s in stores if s.store_id in todo]
        else:
            due, retrying = _due_zones(now, bands.zones, summary)
            stores = _get_stores(sorted(_wanted(bands.zones, due, retrying)), summary)
        failed = _refresh(pool, stores, bands, numbers, now, weeks, summary, force=False, found=found)
        for tz, d in due.items():
            chain.mark_zone_done(tz, d, now, sorted(failed & set(bands.zones[tz])))
        for tz, (d, ids) in retrying.items():
            chain.mark_zone_done(tz, d, now, sorted(failed & set(ids)))
    return summary


def _due_zones(now: datetime, by_zone: dict[str, list[str]],
               summary: RefreshSummary) -> tuple[dict[str, str], dict[str, tuple[str, list[str]]]]:
    """(zone -> its day, for the zones whose day has come since their stamp;
    zone -> (its day, stores that failed that day), for the others)."""
    zones = chain.read_zones(sorted(by_zone))
    summary.items_read += len(zones)
    due: dict[str, str] = {}
    retrying: dict[str, tuple[str, list[str]]] = {}
    for tz in sorted(by_zone):
        d, zone = chain.local_day(now, tz), zones.get(tz)
        if zone is None or zone.day < d:
            due[tz] = d
        elif zone.day == d and zone.retry:
            retrying[tz] = (d, list(zone.retry))
    summary.zones = sorted(due)
    return due, retrying


def _wanted(by_zone: dict[str, list[str]], due: dict[str, str],
            retrying: dict[str, tuple[str, list[str]]]) -> set[str]:
    return {sid for tz in due for sid in by_zone[tz]} | {sid for _, ids in retrying.values() for sid in ids}


def _last_figures(policy: StorePolicy | None, now: datetime) -> list[int] | None:
    """[orders, weeks with data, average ticket] from the store's own last
    refresh, if that was within 48 h (else: read its week items)."""
    if policy is None or policy.refreshed_at is None or now - policy.refreshed_at > FIGURES_FRESH:
        return None
    facts = (policy.derived or {}).get("facts") or {}
    try:
        return [int(facts["orders"]), int(facts["weeks_with_data"]), int(facts["avg_ticket_fen"])]
    except (KeyError, TypeError, ValueError):
        return None


def _get_policies(stores: list[StoreRecord], summary: RefreshSummary) -> dict[str, StorePolicy]:
    # BatchGetItem pages of 100, unprocessed keys re-sent: PynamoDB's batch_get does both
    found = {p.store_id: p for p in StorePolicy.batch_get([s.store_id for s in stores])}
    summary.items_read += len(found)
    return found


def _get_stores(store_ids: list[str], summary: RefreshSummary) -> list[StoreRecord]:
    stores = list(StoreRecord.batch_get(store_ids))  # pages of 100 (PynamoDB)
    summary.items_read += len(stores)
    return stores


def _read_all_numbers(pool: ThreadPoolExecutor, stores: list[StoreRecord], now: datetime, weeks: int,
                      numbers: dict[str, Numbers], summary: RefreshSummary) -> None:
    read = list(pool.map(lambda s: read_numbers(s, now, weeks), stores))
    numbers.update({s.store_id: n for s, (n, _) in zip(stores, read, strict=True)})
    summary.items_read += sum(count for _, count in read)


def _bands(day: str, stores: list[StoreRecord], numbers: dict[str, Numbers], now: datetime) -> chain.Bands:
    """Bands of just `stores` (the CLI's `--store` before the day's bands exist)."""
    enough_ = [numbers[s.store_id] for s in stores if numbers[s.store_id].enough()]
    zones: dict[str, list[str]] = {}
    for s in stores:
        zones.setdefault(s.timezone, []).append(s.store_id)
    return chain.Bands(day=day, parts=[[n.total_orders, n.weeks_with_data, n.avg_ticket_fen] for n in enough_],
                       zones=zones, computed_at=now)


def _refresh(pool: ThreadPoolExecutor, stores: list[StoreRecord], bands: chain.Bands, numbers: dict[str, Numbers],
             now: datetime, weeks: int, summary: RefreshSummary, force: bool,
             found: dict[str, StorePolicy] | None = None) -> set[str]:
    """Refresh `stores` (numbers read here unless given); returns the ids
    that failed. A store already refreshed for its local day is skipped
    (its policy item's stamp, checked again under the item's version)."""
    if found is None:
        found = _get_policies(stores, summary)
    todo = [s for s in stores if force or not _done(found.get(s.store_id), s, now)]
    summary.already += len(stores) - len(todo)
    _read_all_numbers(pool, [s for s in todo if s.store_id not in numbers], now, weeks, numbers, summary)

    def one(store: StoreRecord) -> RefreshSummary:
        mine = RefreshSummary(at=now)
        insights = derive(numbers[store.store_id], store_hours.loads(store.hours), store.afternoon_window,
                          bands.traffic, bands.spend)
        try:
            _decide(store, found.get(store.store_id), insights, numbers[store.store_id], now, mine, force)
        except Exception:  # noqa: BLE001 - one store's failure must not stop the chain's refresh
            log.exception("insights refresh failed for a store", extra={"fields": {"store_id": store.store_id}})
            mine.errors += 1
            mine.stores += 1
        return mine

    failed: set[str] = set()
    for store, mine in zip(todo, pool.map(one, todo), strict=True):
        summary.stores += mine.stores
        summary.already += mine.already
        summary.scheduled += mine.scheduled
        summary.applied += mine.applied
        summary.kept += mine.kept
        summary.errors += mine.errors
        if mine.errors:
            failed.add(store.store_id)
    return failed


def _done(policy: StorePolicy | None, store: StoreRecord, now: datetime) -> bool:
    """Already refreshed for the store's current local day. An item written
    before `refreshed_day` existed counts by its `refreshed_at` (the old daily
    run), so an upgrade does not refresh those stores twice in a day."""
    if policy is None:
        return False
    stamp = policy.refreshed_day or (chain.local_day(policy.refreshed_at, store.timezone)
                                     if policy.refreshed_at else None)
    return bool(stamp and stamp >= chain.local_day(now, store.timezone))


def _refile(store: StoreRecord, now: datetime) -> None:
    """Re-file the store's slots from the store as it stands (a consistent
    read): the run's copy comes from an eventually consistent read and may
    miss a save made just before `now`, whose version our apply passed
    (`updated_at <= now`); filed from that copy under the apply's newer
    version, the index would keep the old hours over the save's."""
    try:
        current = StoreRecord.get(store.store_id, consistent_read=True)
    except StoreRecord.DoesNotExist:
        return
    reindex_stores([current], now)


def _decide(store: StoreRecord, policy: StorePolicy | None, insights: dict[str, Any], numbers: Numbers,
            now: datetime, summary: RefreshSummary, force: bool = False) -> None:
    for attempt in retry.attempts(what="the insights refresh"):
        if policy is None or attempt > 0:
            policy = policies.read(store.store_id)
        if not force and _done(policy, store, now):
            summary.already += 1  # another run did this store's day since we read
            return
        applied = policies.apply_due(store, policy, now)
        summary.applied += len(applied.fields)
        if applied.refile:
            _refile(store, now)  # the clearance slot moves with the idle hour
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
        policy.refreshed_day = chain.local_day(now, store.timezone)
        try:
            policies.save(policy)
            summary.stores += 1
            return
        except policies.VersionMoved:
            continue
