"""Redemption under real concurrency: many devices scanning one code at
once across two `chalice local` processes; exactly one wins. The codes are
v2 (terms inside: one TransactWriteItems per scan, nothing read first), so
the coupon's status and scope are decided by the transaction alone."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from chalicelib.clock import local_time
from tests.api import Api, token
from tests.functional.test_coupons_api import STORE
from tests.integration.test_claims_concurrency import (  # noqa: F401  (two_servers: the `servers` fixture)
    hammer,
    live_template,
    outcome,
    pytestmark,
    setup_store,
    two_servers,
)


def test_many_devices_scanning_one_code_redeem_it_once(servers: list[Api], admin: str) -> None:
    setup_store(servers[0], admin)
    tid = live_template(servers[0], admin)
    code = servers[0].post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"},
                           as_=token("member", "m1")).body["code"]
    assert len(code) > 47  # a v2 code (a v1 code is 47 characters)
    calls = [("POST", "/redemptions", {"code": code, "order_ref": f"POS-{i}"}, token("staff", f"clerk{i}", "S1"))
             for i in range(40)]
    replies = hammer(servers, calls)
    assert outcome(replies) == Counter({201: 1, "already_redeemed": 39})
    [won] = [r.body for r in replies if r.status == 201]
    day = local_time(datetime.fromisoformat(won["redeemed_at"]), "Asia/Shanghai").date()  # instants are UTC
    log = servers[1].get(f"/stores/S1/redemptions?date={day}", as_=admin).body["redemptions"]
    assert [r["redemption_id"] for r in log] == [won["redemption_id"]]

    # and reversing it from many devices at once happens once
    rid = won["redemption_id"]
    reversals = hammer(servers, [("POST", f"/redemptions/{rid}/reverse", None, token("staff", "mgr", "S1"))] * 20)
    assert outcome(reversals) == Counter({200: 1, "already_reversed": 19})

    # a tier-scoped coupon scanned at once by staff of a store in scope (S1)
    # and of one out of it (S2, low traffic): one redemption, S2 told so
    assert servers[0].put("/stores/S2", {**STORE, "member_day": None, "traffic_tier": "low"}, as_=admin).status == 200
    scoped = live_template(servers[0], admin, scope={"traffic_tiers": ["high"]})
    code = servers[0].post(f"/coupon-templates/{scoped}/claim", {"store_id": "S1"},
                           as_=token("member", "m2")).body["code"]
    calls = [("POST", "/redemptions", {"code": code}, token("staff", f"scanner{i}", "S1" if i % 2 else "S2"))
             for i in range(40)]
    replies = hammer(servers, calls)
    assert outcome(replies) == Counter({201: 1, "already_redeemed": 19, "wrong_store": 20})
    assert [r.body["store_id"] for r in replies if r.status == 201] == ["S1"]
