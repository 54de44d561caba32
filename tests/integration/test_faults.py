"""Nothing lost, nothing doubled under DynamoDB faults.

Two `chalice local` servers and two `cli tick` processes talk to DynamoDB
Local through `devtools.fault_proxy`, which fails 15% of calls: 500s,
throttling, dropped connections, and calls that COMMIT and then lose their
answer. botocore is allowed one retry only, so Storeloop's own layers
(same-token re-sends, Idempotency-Key, own-commit recognition) are what
keep the invariants. Clients behave like real ones: on a 503 or a dropped
connection they retry the same request with the same Idempotency-Key.

Invariants asserted exactly (reads go straight to DynamoDB Local):
stock sold = coupons in wallets = coupons answered; no member over the
limit; one redemption per code and every staff member told the truth about
their own; one reversal per redemption; group counts = memberships;
payments counted once; one post per (store, date, slot), delivered once;
no 5xx but 503 `try_again` with the envelope and Retry-After.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.campaigns import posts
from chalicelib.campaigns.tick import advance_watermark
from chalicelib.coupons import templates
from chalicelib.coupons.models import ClaimCount, CouponRecord, RedemptionRecord
from chalicelib.delivery.record import recorded
from chalicelib.members.models import MemberRecord
from chalicelib.stats.models import StoreDayStats
from devtools.fault_proxy import FaultProxy
from tests.api import Api, Reply, token
from tests.functional.test_coupons_api import STORE
from tests.integration.conftest import ChaliceLocal
from tests.integration.test_campaign_days import DAY, add_store, sh
from tests.integration.test_groups_concurrency import assert_consistent

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
THREADS = 16
RATE = 0.15


@pytest.fixture
def proxy(dynamodb_local: Any) -> Iterator[FaultProxy]:
    with FaultProxy(dynamodb_local.endpoint, rate=RATE, seed=20261125) as running:
        yield running


@pytest.fixture
def faulty_env(ddb_env: dict[str, str], proxy: FaultProxy) -> dict[str, str]:
    return {**ddb_env, "AWS_ENDPOINT_URL_DYNAMODB": proxy.url, "STORELOOP_DDB_MAX_RETRIES": "1",
            "STORELOOP_DDB_READ_TIMEOUT_S": "5"}


@pytest.fixture
def servers(faulty_env: dict[str, str]) -> Iterator[list[Api]]:
    started = list(ThreadPoolExecutor(2).map(lambda _: ChaliceLocal(faulty_env).start(), range(2)))
    yield [Api(base_url=s.url) for s in started]
    for server in started:
        server.stop()


class Client:
    """A client as a mini-program or POS would be: one Idempotency-Key per
    logical request, kept across its retries; retries on 503 and on a
    dropped connection. Every answer it saw is kept for the 5xx check."""

    def __init__(self, servers: list[Api]):
        self.servers = servers
        self.seen: list[Reply] = []

    def send(self, i: int, method: str, path: str, body: Any, bearer: str) -> Reply:
        key = uuid.uuid4().hex
        mine: list[Any] = []
        for attempt in range(30):
            api = self.servers[(i + attempt) % len(self.servers)]
            try:
                reply = api.call(method, path, body, as_=bearer, headers={"Idempotency-Key": key})
            except requests.RequestException:
                time.sleep(0.05)
                continue
            self.seen.append(reply)
            mine.append((reply.status, reply.error_code))
            if reply.status == 503 or reply.error_code == "request_in_progress":
                time.sleep(0.05 * (attempt + 1))
                continue
            return reply
        raise AssertionError(f"{method} {path} never got a final answer: {mine}")

    def many(self, calls: list[tuple[str, str, Any, str]]) -> list[Reply]:
        with ThreadPoolExecutor(THREADS) as pool:
            return list(pool.map(lambda i: self.send(i, *calls[i]), range(len(calls))))


def live_template(api: Api, admin: str, **over: Any) -> str:
    now = datetime.now(UTC)
    body = {"title": "秒杀券", "kind": "amount_off", "value": 500, "valid_days": 1,
            "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=1)).isoformat(),
            **over}
    reply = api.post("/coupon-templates", body, as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


def test_every_write_path_keeps_its_invariants_under_injected_faults(
        api: Api, admin: str, servers: list[Api], proxy: FaultProxy, faulty_env: dict[str, str]) -> None:
    # GIVEN stores, members and a flash template, written without faults
    assert api.put("/stores/S1", {**STORE, "member_day": None}, as_=admin).status == 200
    assert api.put("/stores/J1", {**STORE, "member_day": None, "group_capacity": 8}, as_=admin).status == 200
    stock, members = 25, 20
    tid = live_template(api, admin, total_stock=stock, stock_shards=5, per_member_limit=2)
    for i in range(members):
        assert api.put("/members/me", {"nickname": f"m{i}"}, as_=token("member", f"m{i}")).status == 200
    staff = [token("staff", f"clerk{i}", store_id="S1") for i in range(2)]
    for i in range(3):
        add_store(f"t{i}", idle_hour=None)
    advance_watermark(sh("11:55"))
    client = Client(servers)

    # WHEN members claim (3 each: more than the limit, and more than the stock) ...
    ticks = [subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "tick", "--at", "2026-11-20T12:00:00+08:00"],
                              cwd=ROOT, env={**os.environ, **faulty_env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    claims = client.many([("POST", f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, token("member", f"m{i}"))
                          for i in range(members) for _ in range(3)])
    # ... join, and pay (each payment posted twice, by two POS retries with their own keys)
    joins = client.many([("POST", "/groups/join", {"store_id": "J1"}, token("member", f"m{i}"))
                         for i in range(members)])
    paid_at = datetime.now(UTC).isoformat()
    payments = client.many([("POST", "/payments", {"payment_id": f"pay{i}", "member_id": f"m{i}", "store_id": "S1",
                                                   "amount_fen": 1000 + i, "paid_at": paid_at}, admin)
                            for i in range(members) for _ in range(2)])

    # THEN stock sold = coupons held = coupons answered, nobody over the limit
    outcomes = Counter(r.status if r.status < 300 else r.error_code for r in claims)
    assert outcomes[201] == stock and set(outcomes) <= {201, "sold_out", "limit_reached"}, outcomes
    answered = {r.body["coupon_id"] for r in claims if r.status == 201}
    held = [c for c in CouponRecord.scan(consistent_read=True) if c.template_id == tid]
    assert {c.coupon_id for c in held} == answered and len(answered) == stock
    assert templates.stock_left(tid) == 0
    per_member = Counter(c.member_id for c in held)
    assert max(per_member.values()) <= 2
    for member_id, count in per_member.items():
        assert int(ClaimCount.get(member_id, tid, consistent_read=True).claimed) == count

    # WHEN two staff scan each code at once, and some codes are scanned once
    codes = {r.body["coupon_id"]: r.body["code"] for r in claims if r.status == 201}
    doubled = list(codes)[:15]
    single = list(codes)[15:]
    scans = client.many([("POST", "/redemptions", {"code": codes[c], "spend_fen": 3000}, staff[k])
                         for c in doubled for k in (0, 1)] +
                        [("POST", "/redemptions", {"code": codes[c], "spend_fen": 3000}, staff[0]) for c in single])
    # THEN one redemption per code, and a lone scan is never told "already redeemed" about its own
    by_coupon: dict[str, list[Reply]] = {}
    for reply in scans:
        if reply.status == 201:
            by_coupon.setdefault(reply.body["coupon_id"], []).append(reply)
    assert sorted(by_coupon) == sorted(codes) and all(len(v) == 1 for v in by_coupon.values())
    assert all(r.status == 201 for r in scans[2 * len(doubled):])
    redemptions = [r for r in RedemptionRecord.scan(consistent_read=True) if r.coupon_id in codes]
    assert len(redemptions) == len(codes)

    # WHEN each of five redemptions is reversed twice at once
    to_reverse = [by_coupon[c][0].body["redemption_id"] for c in doubled[:5]]
    reversals = client.many([("POST", f"/redemptions/{rid}/reverse", None, staff[k]) for rid in to_reverse
                             for k in (0, 1)])
    # THEN each happened once, and its coupon is back in the wallet
    assert Counter(r.status if r.status < 300 else r.error_code for r in reversals) == Counter(
        {200: 5, "already_reversed": 5})
    for rid in to_reverse:
        record = RedemptionRecord.get(rid, consistent_read=True)
        assert record.status == "reversed"
        assert CouponRecord.get(record.coupon_id, consistent_read=True).status == "claimed"

    # THEN groups fill exactly, counts equal memberships
    assert all(r.status == 200 for r in joins)
    assert sorted(Counter(r.body["seq"] for r in joins).values()) == [4, 8, 8]
    assert_consistent(["J1"])

    # THEN each payment counted once
    assert all(r.status == 200 for r in payments)
    for i in range(members):
        assert int(MemberRecord.get(f"m{i}", consistent_read=True).orders_total) == 1
    day_rows = list(StoreDayStats.query("S1", consistent_read=True))
    assert sum(int(r.payments or 0) for r in day_rows) == members
    assert sum(int(r.coupons_claimed or 0) for r in day_rows) == stock
    assert sum(int(r.coupons_redeemed or 0) for r in day_rows) == len(codes)
    assert sum(int(r.redemptions_reversed or 0) for r in day_rows) == 5

    # THEN the noon slot of each store was posted once and delivered once, whatever the ticks met
    for tick in ticks:
        out, err = tick.communicate(timeout=180)
        assert tick.returncode in (0, 1), err  # a tick that gave up is re-run by the next trigger
    # the scheduler fires every 5 minutes: a tick that met too many faults leaves
    # its watermark, so the next one re-reads the window (the ledger drops repeats)
    for minute in range(5, 35, 5):
        rerun = subprocess.run([sys.executable, "-m", "chalicelib.cli", "tick", "--at",
                                f"2026-11-20T12:{minute:02d}:00+08:00"],
                               cwd=ROOT, env={**os.environ, **faulty_env}, capture_output=True, text=True,
                               timeout=180)
        if rerun.returncode == 0:
            break
    assert rerun.returncode == 0, rerun.stdout[-2000:]
    for i in range(3):
        day_posts = posts.for_day(f"t{i}", DAY)
        assert [p.slot for p in day_posts] == ["noon"]
        assert {m.key.split("#", 1)[0] for m in recorded(f"t{i}")} <= {day_posts[0].post_id}

    # THEN no answer was a 5xx other than 503 try_again with the envelope and Retry-After
    bad = [r for r in client.seen if r.status >= 500 and not (
        r.status == 503 and r.error_code == "try_again" and r.headers.get("Retry-After"))]
    assert bad == []
    # AND the proxy really did fail calls, including commits whose answers were lost
    assert proxy.counts["lost:TransactWriteItems"] > 0 and proxy.counts["drop"] > 0
    assert proxy.counts["error"] > 0 and proxy.counts["throttle"] > 0
