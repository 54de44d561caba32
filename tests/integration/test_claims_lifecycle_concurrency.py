"""Claims racing an operator on DynamoDB Local: two `chalice local`
processes (two terms caches) take claims from 24 threads while an operator
pauses, edits and resumes the template. The claim's version guard lives on
the stock shard (the template item is not in the claim transaction), so
this is what proves a stale cache never issues a coupon:

- no oversell: coupons issued == stock taken, never more than the stock;
- exact limits: no member holds more than `per_member_limit`, and a member
  told `limit_reached` holds exactly that many;
- no coupon under a paused version: while paused the operator sets values
  (901, 902) that are never active; no coupon may carry them;
- no coupon under a superseded version: a coupon with value X was claimed
  (its request began) before the operator's change that ended X returned.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.coupons.models import CouponRecord
from tests.api import Api, token
from tests.integration.test_claims_concurrency import live_template, setup_store, two_servers  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.slow]
THREADS = 24
STOCK = 160
LIMIT = 2
PER_PHASE = 25  # successes (or pause refusals) to see before the operator's next step


def test_claims_racing_pause_edit_resume_never_oversell_nor_use_stale_terms(servers: list[Api], admin: str) -> None:
    setup_store(servers[0], admin)
    tid = live_template(servers[0], admin, total_stock=STOCK, stock_shards=8, per_member_limit=LIMIT, value=100)
    op = servers[0]
    replies: list[tuple[str, Any]] = []
    lock = threading.Lock()
    seen = Counter[Any]()
    ended_at: dict[int, datetime] = {}  # value -> when the change that ended its active period returned
    operator_done = threading.Event()
    sold_out = threading.Event()
    calls = itertools.count()

    def wait_for(what: Any, n: int) -> None:
        deadline = time.monotonic() + 60
        with lock:
            target = seen[what] + n
        while time.monotonic() < deadline and not sold_out.is_set():
            with lock:
                if seen[what] >= target:
                    return
            time.sleep(0.02)

    def change(method: str, path: str, body: Any = None) -> None:
        reply = op.call(method, f"/coupon-templates/{tid}{path}", body, as_=admin)
        assert reply.status == 200, (path, reply.body)

    def operator() -> None:
        try:
            for active, paused_value, following in ((100, 901, 200), (300, 902, 400)):
                wait_for(201, PER_PHASE)
                change("POST", "/pause")
                ended_at[active] = datetime.now(UTC)
                wait_for("template_paused", PER_PHASE)
                change("PATCH", "", {"value": paused_value})  # while paused: never claimable
                change("PATCH", "", {"value": following})
                change("POST", "/resume")
                if following == 200:
                    wait_for(201, PER_PHASE)
                    change("PATCH", "", {"value": 300})  # an edit while active, under fire
                    ended_at[200] = datetime.now(UTC)
        finally:
            operator_done.set()

    def claimer(worker: int) -> None:
        while not (operator_done.is_set() and sold_out.is_set()):
            n = next(calls)
            member = f"m{n // 3}"  # each member fires three times, often at once
            reply = servers[n % 2].post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"},
                                        as_=token("member", member))
            code = reply.status if reply.status < 300 else reply.error_code
            with lock:
                replies.append((member, reply))
                seen[code] += 1
            if code == "sold_out":
                sold_out.set()
            assert n < 5000, "the sale should have ended long before this"

    with ThreadPoolExecutor(THREADS + 1) as pool:
        futures = [pool.submit(operator)] + [pool.submit(claimer, i) for i in range(THREADS)]
        for future in futures:
            future.result()

    outcome = Counter(reply.status if reply.status < 300 else reply.error_code for _, reply in replies)
    assert set(outcome) <= {201, "template_paused", "sold_out", "limit_reached"}, outcome
    assert outcome[201] == STOCK and outcome["template_paused"] >= 2 * PER_PHASE, outcome
    won = [(member, reply.body) for member, reply in replies if reply.status == 201]
    assert len({body["coupon_id"] for _, body in won}) == STOCK
    assert op.get(f"/coupon-templates/{tid}", as_=admin).body["remaining"] == 0  # none oversold
    held = Counter(member for member, _ in won)
    assert max(held.values()) <= LIMIT
    told_limit = {member for member, reply in replies if reply.error_code == "limit_reached"}
    assert all(held[member] == LIMIT for member in told_limit)
    values = Counter(body["value"] for _, body in won)
    print(f"outcome {dict(outcome)}, coupons by value {dict(values)}")
    assert set(values) <= {100, 200, 300, 400}, values  # never 901 / 902 (paused only)
    for _, body in won:
        coupon = CouponRecord.get(body["coupon_id"], consistent_read=True)
        assert int(coupon.value) == body["value"] and coupon.template_id == tid
        if body["value"] in ended_at:  # issued under a version that had already been superseded?
            assert coupon.claimed_at < ended_at[body["value"]], (body["value"], coupon.claimed_at, ended_at)
    assert len(values) >= 3, values  # the sale really ran through the operator's versions
