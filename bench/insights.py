"""Store insights at national scale: every store of the shared data set
(7,209; the built-in demo set if absent) with 60 days of synthetic payment
history, on its own DynamoDB Local. Measures, in one run:

- items read by the daily refresh, per store, and the ratio against a
  refresh that scans the payments (the baseline, measured on `--naive-stores`
  stores whose raw payment items are written too, and scaled to all);
- DynamoDB writes per payment ingest (member and non-member), counted from
  the requests the real payment path sends;
- items read per day by the hourly refresh (24 runs, each store at its own
  local 00:05) for the chain's own timezones, for one timezone, and for
  stores spread over four, against the one full pass the daily run read;
- what applying one due change costs (the store's field and its "applied"
  audit row in one transaction) against the single UpdateItem + PutItem
  used before, on `--apply-stores` stores each way, in the same run.

The week items the refresh reads are written directly from the synthetic
history (the same sums payments would have ADDed; ingesting 13 million
payments through the API is not what is measured here).

    .venv/bin/python -m bench.insights [--stores N] [--days 60] [--naive-stores 10] [--csv PATH] [--no-hourly]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.campaigns import store_config  # noqa: E402
from chalicelib.insights import policy as policies  # noqa: E402
from chalicelib.insights.demo import dip_hour, hour_weights, kind_of  # noqa: E402
from chalicelib.insights.models import PolicyAudit, StorePolicy, StoreWeek  # noqa: E402
from chalicelib.insights.refresh import run_refresh  # noqa: E402
from chalicelib.insights.weeks import orders_attr, spend_attr, week_key  # noqa: E402
from chalicelib.members.profile import upsert_profile  # noqa: E402
from chalicelib.payments.models import PaymentRecord  # noqa: E402
from chalicelib.payments.schemas import PaymentIn  # noqa: E402
from chalicelib.payments.service import record_payment  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores.csv_import import default_source, read_rows  # noqa: E402
from chalicelib.stores.models import StoreRecord  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 0, 5, tzinfo=SH)  # a Monday, the refresh's usual time
TICKET = {"office": 3200, "mall": 4200, "community": 2600}


class Meter:
    """Items read (Query/Scan ScannedCount, GetItem, BatchGetItem) and items
    written (each item of a TransactWriteItems, PutItem, UpdateItem,
    DeleteItem, BatchWriteItem) by the shared botocore client."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.read = 0
        self.written = 0
        self.requests: Counter[str] = Counter()

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        op, n = model.name, 0
        if op == "TransactWriteItems":
            n = len(params.get("TransactItems", []))
        elif op in ("PutItem", "UpdateItem", "DeleteItem"):
            n = 1
        elif op == "BatchWriteItem":
            n = sum(len(v) for v in params.get("RequestItems", {}).values())
        with self.lock:
            self.written += n
            self.requests[op] += 1

    def after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op, n = model.name, 0
        if op in ("Query", "Scan"):
            n = int(parsed.get("ScannedCount", 0))
        elif op == "GetItem":
            n = 1 if parsed.get("Item") else 0
        elif op == "BatchGetItem":
            n = sum(len(v) for v in parsed.get("Responses", {}).values())
        with self.lock:
            self.read += n

    def reset(self) -> tuple[int, int, Counter[str]]:
        with self.lock:
            out = (self.read, self.written, self.requests)
            self.read, self.written, self.requests = 0, 0, Counter()
        return out


def synthetic_day(store_id: str, name: str, day: datetime, rng: random.Random) -> list[tuple[int, int, int]]:
    """(hour, orders, spend_fen) of one day, the demo generator's shapes
    (spend: the sum of `orders` tickets around the store kind's mean)."""
    kind = kind_of(store_id, name)
    ticket = TICKET[kind]
    out = []
    for hour, weight in enumerate(hour_weights(kind, day.weekday(), dip_hour(store_id))):
        orders = int(weight * 1.5 + rng.random())
        if orders:
            spend = int(orders * ticket + rng.gauss(0, ticket * 0.3 * orders ** 0.5))
            out.append((hour, orders, max(600 * orders, spend)))
    return out


def write_history(records: list[Any], days: int, naive_ids: set[str]) -> tuple[int, int, int]:
    """Week items for every store; raw payment items for the naive stores.
    Returns (payments in the history, week items, naive payment items)."""
    payments = weeks_written = naive_items = 0
    first = (NOW - timedelta(days=days)).replace(hour=0, minute=0)
    with StoreWeek.batch_write() as weeks, PaymentRecord.batch_write() as raw:
        for record in records:
            rng = random.Random(record.store_id)
            sums: dict[str, dict[str, int]] = {}
            for d in range(days):
                day = first + timedelta(days=d)
                week = sums.setdefault(week_key(day.date()), {})
                for hour, orders, spend in synthetic_day(record.store_id, record.name, day, rng):
                    payments += orders
                    slot = day.weekday() * 24 + hour
                    week[orders_attr(slot)] = week.get(orders_attr(slot), 0) + orders
                    week[spend_attr(slot)] = week.get(spend_attr(slot), 0) + spend
                    if record.store_id in naive_ids:  # one raw payment item per order
                        paid = day.replace(hour=hour).astimezone(UTC)
                        for n in range(orders):
                            raw.save(PaymentRecord(f"{record.store_id}-{d}-{hour}-{n}", store_id=record.store_id,
                                                   amount_fen=spend // orders, paid_at=paid,
                                                   local_day=day.date().isoformat(), recorded_at=paid))
                            naive_items += 1
            for key, attrs in sums.items():
                item = StoreWeek(record.store_id, key, last_visitors=0)
                for name, value in attrs.items():
                    setattr(item, name, value)
                weeks.save(item)
                weeks_written += 1
    return payments, weeks_written, naive_items


def naive_refresh() -> int:
    """The baseline: scan the payments and sum per store and hour in Python."""
    seen = 0
    sums: Counter[tuple[str, int]] = Counter()
    for payment in PaymentRecord.scan():
        seen += 1
        local = payment.paid_at.astimezone(SH)
        sums[(payment.store_id, local.weekday() * 24 + local.hour)] += 1
    return seen


SPREAD = ("Asia/Shanghai", "Asia/Urumqi", "Europe/London", "America/Los_Angeles")


def set_zones(records: list[Any], zone_of: Any) -> Counter[str]:
    """Move stores between timezones (bench setup, not metered)."""
    zones: Counter[str] = Counter()
    for i, record in enumerate(records):
        tz = zone_of(i, record)
        zones[tz] += 1
        StoreRecord(record.store_id).update(actions=[StoreRecord.timezone.set(tz)])
    return zones


def hourly_day(meter: Meter, chain_day: int) -> dict[str, Any]:
    """The 24 hourly runs of one chain day (16:05 UTC the day before = 00:05
    Shanghai, to 15:05 UTC), `chain_day` days after NOW's."""
    first = NOW.astimezone(UTC) + timedelta(days=chain_day)
    meter.reset()
    out: dict[str, Any] = {"read": 0, "requests": 0, "stores": 0, "computed": 0, "errors": 0, "idle_max": 0,
                           "busy": 0, "seconds": 0.0, "pass": 0}
    t0 = time.perf_counter()
    for hour in range(24):
        summary = run_refresh(first + timedelta(hours=hour), 8)
        read, _, reqs = meter.reset()
        out["read"] += read
        out["requests"] += sum(reqs.values())
        out["stores"] += summary.stores
        out["errors"] += summary.errors
        if summary.bands == "computed":
            out["computed"] += 1
            out["pass"] = read
        if summary.zones:
            out["busy"] += 1
        else:
            out["idle_max"] = max(out["idle_max"], read)
    out["seconds"] = time.perf_counter() - t0
    return out


def apply_cost(meter: Meter, records: list[Any], k: int) -> dict[str, dict[str, Any]]:
    """One due member-day change on each of `k` stores through `apply_due`,
    and on `k` other stores the way it was written before (a conditional
    UpdateItem, then the audit PutItem): requests, items written, time."""
    at = NOW.astimezone(UTC) + timedelta(days=6)
    chosen = [r.store_id for r in records[-2 * k:]]
    stores = {s.store_id: s for s in StoreRecord.batch_get(chosen)}
    out: dict[str, dict[str, Any]] = {}
    for label, ids in (("old", chosen[:k]), ("ours", chosen[k:])):
        meter.reset()
        t0 = time.perf_counter()
        for sid in ids:
            store = stores[sid]
            old = store.member_day
            new = "SUN" if old != "SUN" else "SAT"
            today = at.astimezone(ZoneInfo(store.timezone)).date().isoformat()
            if label == "ours":
                policy = StorePolicy(sid, pins={}, version=0,
                                     pending={"member_day": {"value": new, "effective_from": today, "by": "insights"}})
                assert policies.apply_due(store, policy, at).fields == ["member_day"]
                continue
            unchanged = StoreRecord.member_day.does_not_exist() if old is None else StoreRecord.member_day == old
            guard = StoreRecord.store_id.exists() & unchanged & (StoreRecord.updated_at <= at)
            StoreRecord(sid).update(actions=[StoreRecord.member_day.set(new), StoreRecord.updated_at.set(at)],
                                    condition=guard)
            PolicyAudit(sid, f"{at.isoformat()}#member_day#{sid}", field="member_day", old=old, new=new,
                        by="insights", what="applied", at=at, effective_from=today).save()
        seconds = time.perf_counter() - t0
        _, written, reqs = meter.reset()
        out[label] = {"requests": sum(reqs.values()) / k, "written": written / k, "ms": seconds / k * 1000,
                      "ops": dict(reqs)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=0, help="only the first N stores (default: all)")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--naive-stores", type=int, default=10, help="stores whose raw payments are written")
    parser.add_argument("--payments", type=int, default=200, help="payments ingested through the real path")
    parser.add_argument("--csv", type=Path, help="store-locator CSV (default: shared data, else the demo set)")
    parser.add_argument("--no-hourly", action="store_true", help="skip the hourly days (four more full passes)")
    parser.add_argument("--apply-stores", type=int, default=200,
                        help="stores each way for the apply-a-change comparison (0: skip)")
    args = parser.parse_args()
    rows = list(read_rows(args.csv or default_source()))
    if args.stores:
        rows = rows[: args.stores]
    started = time.perf_counter()
    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": "bench-insights-"})
        os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
        reset_settings()
        db.create_tables()
        t0 = time.perf_counter()
        records = store_config.save_stores([(r.store_id, r) for r in rows], NOW - timedelta(days=args.days + 1))
        naive_ids = {r.store_id for r in records[: args.naive_stores]}
        payments, week_items, naive_items = write_history(records, args.days, naive_ids)
        load_s = time.perf_counter() - t0

        meter = Meter()
        events = db.connection().client.meta.events
        events.register("provide-client-params.dynamodb.*", meter.before)
        events.register("after-call.dynamodb", meter.after)

        # 1. the refresh over every store
        meter.reset()
        t1 = time.perf_counter()
        summary = run_refresh(NOW, 8)
        refresh_s = time.perf_counter() - t1
        ours_read, ours_written, ours_reqs = meter.reset()

        # 2. the baseline: scan the payments of the naive stores (measured), scaled to all
        t2 = time.perf_counter()
        scanned = naive_refresh()
        naive_s = time.perf_counter() - t2
        naive_read, _, _ = meter.reset()
        small = run_refresh(NOW, 8, sorted(naive_ids))
        small_read, _, _ = meter.reset()

        # 3. writes per payment ingest, through the real path
        store = records[0]
        upsert_profile("bench-member", "bench", None, NOW)
        meter.reset()
        for i in range(args.payments):
            member = "bench-member" if i % 2 else None
            record_payment(PaymentIn(payment_id=f"ingest-{i}", member_id=member, store_id=store.store_id,
                                     amount_fen=3000, paid_at=NOW - timedelta(hours=i % 24, days=i // 24)), NOW)
        _, ingest_written, ingest_reqs = meter.reset()
        meter.reset()
        record_payment(PaymentIn(payment_id="ingest-solo", store_id=store.store_id, amount_fen=3000,
                                 paid_at=NOW - timedelta(hours=1)), NOW)
        _, solo_written, solo_reqs = meter.reset()
        record_payment(PaymentIn(payment_id="ingest-member", member_id="bench-member", store_id=store.store_id,
                                 amount_fen=3000, paid_at=NOW - timedelta(hours=2)), NOW)
        _, member_written, member_reqs = meter.reset()

        # 4. the hourly refresh: items read per chain day, steady state (every store stamped for yesterday)
        days: list[tuple[str, Counter[str], dict[str, Any]]] = []
        if not args.no_hourly:
            own = Counter(r.timezone for r in records)
            hourly_day(meter, 0)  # the rest of NOW's chain day: zones west of Shanghai reach their day
            days.append(("the chain's own timezones", own, hourly_day(meter, 1)))
            one = set_zones(records, lambda i, r: "Asia/Shanghai")
            days.append(("one timezone", one, hourly_day(meter, 2)))
            spread = set_zones(records, lambda i, r: SPREAD[i % len(SPREAD)])
            hourly_day(meter, 3)  # the day the stores moved: zones without stamps read their policies once
            days.append(("four timezones", spread, hourly_day(meter, 4)))

        # 5. applying a due change: one transaction with its audit row, against the old UpdateItem + PutItem
        k = min(args.apply_stores, len(records) // 2)
        applying = apply_cost(meter, records, k) if k else {}
    finally:
        ddb.stop()

    n = len(records)
    print(f"stores: {n}, history: {args.days} days, {payments:,} payments -> {week_items:,} week items "
          f"(loaded in {load_s:.1f}s)")
    print(f"refresh: {summary.line()}")
    print(f"  {ours_read:,} items read = {ours_read / n:.1f} per store, {sum(ours_reqs.values())} requests, "
          f"{ours_written} items written, {refresh_s:.1f}s")
    print(f"naive refresh (scan payments), measured on {len(naive_ids)} stores: {naive_read:,} items read "
          f"({scanned:,} payments) in {naive_s:.1f}s vs ours {small_read} items for the same stores "
          f"-> {naive_read / max(small_read, 1):.0f}x")
    scaled = naive_read * n / max(len(naive_ids), 1)
    print(f"  scaled to {n} stores: naive ~{scaled:,.0f} items vs ours {ours_read:,} "
          f"-> {scaled / max(ours_read, 1):.0f}x fewer items read")
    print(f"payment ingest: {ingest_written / args.payments:.2f} items written per payment over "
          f"{args.payments} (half member, half non-member); {dict(ingest_reqs)}")
    print(f"  one non-member payment: {solo_written} items written {dict(solo_reqs)}")
    print(f"  one member payment (same week as the last visit): {member_written} items written "
          f"{dict(member_reqs)}")
    one_zone = next((day["read"] for label, _, day in days if label == "one timezone"), 0)
    for label, zones, day in days:
        print(f"hourly refresh, {label} ({', '.join(f'{tz} {k}' for tz, k in zones.most_common())}): "
              f"{day['read']:,} items read per day in 24 runs = {day['read'] / n:.1f} per store, "
              f"{day['read'] / max(one_zone, 1):.2f}x the one-timezone day; full-pass run {day['pass']:,} items; "
              f"{day['requests']} requests, {day['stores']} store refreshes, bands computed {day['computed']}x, "
              f"{day['busy']} runs with a zone due, idle runs <= {day['idle_max']} items, {day['seconds']:.1f}s")
        assert day["stores"] == n and day["computed"] == 1 and day["errors"] == 0
    if applying:
        ours, before = applying["ours"], applying["old"]
        print(f"apply a due change ({k} stores each way): ours {ours['requests']:.2f} requests, "
              f"{ours['written']:.2f} items written {ours['ops']}, {ours['ms']:.1f} ms; the old UpdateItem + audit "
              f"PutItem {before['requests']:.2f} requests, {before['written']:.2f} items {before['ops']}, "
              f"{before['ms']:.1f} ms -> {ours['ms'] / max(before['ms'], 1e-9):.2f}x the time; write units "
              f"(items <= 1 KB, transactional x2): ours {2 * ours['written']:.0f}, old {before['written']:.0f}")
    print(f"total bench time {time.perf_counter() - started:.0f}s")
    assert summary.stores == n and small.stores == len(naive_ids)


if __name__ == "__main__":
    main()
