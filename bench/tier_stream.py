"""Member-tier figures off the claim path, measured on DynamoDB Local:

    .venv/bin/python bench/tier_stream.py [--members 400] [--clients 8]

Claims by members never seen (plus some with orders: active and loyal),
some redemptions and reversals, then the coupons stream drained by
devtools/stream_poller.py through the same handler Lambda runs. Prints the
DynamoDB requests per claim with the stream on (the claim path reads
nothing about the member: goal 1.00), what the consumer costs per counted
event (requests, write and read units, ReturnConsumedCapacity), how fast
it drains, and checks the by-tier counters against what was done. Numbers
on DynamoDB Local say more about ratios than about AWS."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402


class Meter:
    """Requests and consumed capacity of one botocore client's calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.units = {"read": 0.0, "write": 0.0}

    def ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem", "TransactWriteItems"):
            params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        found = parsed.get("ConsumedCapacity")
        entries = found if isinstance(found, list) else [found] if found else []
        kind = "read" if model.name in ("GetItem", "Query", "BatchGetItem") else "write"
        with self.lock:
            self.requests[model.name] += 1
            self.units[kind] += sum(float(e.get("CapacityUnits") or 0) for e in entries)

    def reset(self) -> tuple[Counter[str], dict[str, float]]:
        with self.lock:
            out = (self.requests, self.units)
            self.requests, self.units = Counter(), {"read": 0.0, "write": 0.0}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=400, help="claims by members never seen")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": f"bench{uuid.uuid4().hex[:6]}-",
                           "STORELOOP_JWT_SECRET": os.environ.get("STORELOOP_JWT_SECRET", "bench-" + "x" * 40)})
        bench(args.members, args.clients)
    finally:
        ddb.stop()


def bench(n_new: int, clients: int) -> None:
    from chalicelib import db
    from chalicelib.auth import Principal
    from chalicelib.campaigns.store_config import save_store
    from chalicelib.coupons import claims, codes, redemptions
    from chalicelib.coupons.service import TemplateIn, create_template
    from chalicelib.members.models import MemberRecord
    from chalicelib.payments.models import PaymentRecord
    from chalicelib.settings import get_settings, reset_settings
    from chalicelib.stats.models import MEMBER_TIERS, StoreDayStats
    from chalicelib.stores.schemas import StoreIn
    from devtools.stream_poller import for_settings

    reset_settings()
    db.create_tables()
    settings = get_settings()
    now = datetime.now(UTC)
    save_store("B1", StoreIn(name="B1", city="上海市", lat=31.2, lng=121.5), now)
    template = create_template(TemplateIn(
        title="flash", kind="amount_off", value=500, total_stock=n_new * 4, claim_start=now - timedelta(hours=1),
        claim_end=now + timedelta(hours=1), valid_days=1), now)
    # members with orders: a tenth loyal (4 in the last 30 days), a tenth active (1)
    n_paying = max(n_new // 10, 1)
    paying = {f"loyal-{i}": 4 for i in range(n_paying)} | {f"active-{i}": 1 for i in range(n_paying)}
    for member_id, orders in paying.items():
        for k in range(orders):
            paid = now - timedelta(days=k + 1)
            PaymentRecord(f"p-{member_id}-{k}", member_id=member_id, store_id="B1", amount_fen=100, paid_at=paid,
                          local_day=paid.date().isoformat(), recorded_at=paid).save()
        MemberRecord(member_id, last_order_at=now - timedelta(days=1), orders_total=orders).save()
    members = [f"new-{i}" for i in range(n_new)] + list(paying)

    meter = Meter()
    events = db.connection().client.meta.events
    events.register("provide-client-params.dynamodb.*", meter.ask)
    events.register("after-call.dynamodb.*", meter)
    claims.claim(template.template_id, "B1", "warm-up", datetime.now(UTC))  # this container's cached terms
    meter.reset()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        coupons = list(pool.map(lambda m: claims.claim(template.template_id, "B1", m, datetime.now(UTC)), members))
    claim_s = time.perf_counter() - started
    claim_requests, claim_units = meter.reset()

    key = codes.derive_key(settings.jwt_secret)
    staff = Principal(sub="clerk-B1", role="staff", store_id="B1")
    redeemed = coupons[::4]  # new, loyal and active members' coupons alike
    done = [redemptions.redeem(codes.sign(c.coupon_id, key), staff, datetime.now(UTC), spend_fen=1000)
            for c in redeemed]
    reversed_ = done[::10]
    for record in reversed_:
        redemptions.reverse(record.redemption_id, staff, datetime.now(UTC))
    meter.reset()

    poller = for_settings()
    stream_calls: Counter[str] = Counter()
    poller.streams.meta.events.register(
        "after-call.dynamodbstreams.*", lambda model, **_: stream_calls.update([model.name]))
    started = time.perf_counter()
    handled = poller.drain()
    drain_s = time.perf_counter() - started
    consumer_requests, consumer_units = meter.reset()
    again_started = time.perf_counter()
    fresh = for_settings()
    fresh.drain()  # the whole stream again, as after a restart: every event already counted
    again_s = time.perf_counter() - again_started
    again_requests, again_units = meter.reset()

    tier_of = {**{m: "new" for m in members if m.startswith("new-")},
               **{m: "loyal" for m in paying if m.startswith("loyal-")},
               **{m: "active" for m in paying if m.startswith("active-")}}
    expected: Counter[str] = Counter()
    for c in coupons:
        expected[f"claimed_{tier_of[c.member_id]}"] += 1
    for c in redeemed:
        expected[f"redeemed_{tier_of[c.member_id]}"] += 1
    by_coupon = {c.coupon_id: c for c in coupons}
    for record in reversed_:
        expected[f"reversed_{tier_of[by_coupon[record.coupon_id].member_id]}"] += 1
    expected["claimed_new"] += 1  # the warm-up claim
    found: Counter[str] = Counter()
    for row in StoreDayStats.query("B1", consistent_read=True):
        for kind in ("claimed", "redeemed", "reversed"):
            for tier in MEMBER_TIERS:
                found[f"{kind}_{tier}"] += int(getattr(row, f"{kind}_{tier}") or 0)
    found = +found
    events_counted = sum(expected.values())
    n_claims = len(coupons)

    print(f"DynamoDB Local, {clients} client threads: {n_claims} claims ({n_new} members never seen, "
          f"{len(paying)} with orders), {len(done)} redemptions, {len(reversed_)} reversals")
    print(f"claim with the coupons stream on: {sum(claim_requests.values()) / n_claims:.2f} DynamoDB requests per "
          f"success (goal 1.00: {dict(claim_requests)}), {claim_units['write'] / n_claims:.2f} WCU + "
          f"{claim_units['read'] / n_claims:.2f} RCU per claim, {n_claims / claim_s:.1f} claims/s")
    print(f"stream consumer: {handled} records in {drain_s:.2f} s ({handled / drain_s:.0f} records/s), "
          f"{events_counted} events counted")
    print(f"stream consumer per counted event: {sum(consumer_requests.values()) / events_counted:.2f} DynamoDB "
          f"requests ({dict(consumer_requests)}), {consumer_units['write'] / events_counted:.2f} WCU + "
          f"{consumer_units['read'] / events_counted:.2f} RCU as DynamoDB Local reports them (it counts a "
          f"transaction's items of one table once; on AWS each mark is a 2-WCU transactional write); "
          f"stream API calls {dict(stream_calls)}")
    print(f"stream re-read from the trim horizon: {again_s:.2f} s, {dict(again_requests)} requests, "
          f"{again_units['write']:.0f} WCU (nothing counted twice)")
    assert found == expected, f"by-tier counters {dict(found)} != {dict(expected)}"
    print(f"by-tier counters exact: {dict(sorted(found.items()))}")


if __name__ == "__main__":
    main()
