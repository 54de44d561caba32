"""Payments and refunds under real concurrency: two `chalice local`
processes on one DynamoDB Local, hammered from threads. Exact outcomes:
orders and distinct members counted once, refunds never past the paid
amount, a retried refund applied once, never a 500."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.insights.models import StoreWeek
from tests.api import Api, token
from tests.integration.test_claims_concurrency import hammer, two_servers  # noqa: F401 - fixture "servers"
from tests.integration.test_insights_ddb import SHOP

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PAID = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def test_concurrent_payments_and_refunds_count_exactly(servers: list[Api], admin: str) -> None:
    api = servers[0]
    assert api.put("/stores/S1", SHOP, as_=admin).status == 200
    for who in ("m1", "m2"):
        assert api.put("/members/me", {"nickname": who}, as_=token("member", who)).status == 200
    calls = [("POST", "/payments", {"payment_id": f"p{i}", "member_id": "m1" if i % 3 else "m2", "store_id": "S1",
                                    "amount_fen": 3000, "paid_at": (PAID + timedelta(minutes=i)).isoformat()}, admin)
             for i in range(24)]
    calls += calls[:6]  # POS retries racing the originals
    replies = hammer(servers, calls)
    assert Counter(r.status for r in replies) == Counter({200: 30})
    assert sum(1 for r in replies if r.body["duplicate"]) == 6
    m1 = api.get("/members/m1", as_=admin).body
    assert (m1["orders_total"], m1["spend_total_fen"]) == (16, 48_000)
    weeks = list(StoreWeek.query("S1"))
    assert sum(int(w.last_visitors or 0) for w in weeks) == 2  # distinct members, once each
    assert sum(int(getattr(w, f"o{h:03d}") or 0) for w in weeks for h in range(168)) == 24

    # 12 partial refunds of 500 with distinct ids on a 3,000 payment: exactly 6 fit
    refunds = [("POST", "/payments/p1/refund", {"amount_fen": 500, "refund_id": f"r{i}"}, admin) for i in range(12)]
    # and the same full refund of p2, re-sent 8 times at once
    refunds += [("POST", "/payments/p2/refund", {}, admin)] * 8
    replies = hammer(servers, refunds)
    partial, full = replies[:12], replies[12:]
    assert Counter(r.status for r in partial) == Counter({200: 6, 409: 6})
    assert {r.error_code for r in partial if r.status == 409} == {"refund_exceeds_payment"}
    assert Counter(r.status for r in full) == Counter({200: 8})
    assert sum(1 for r in full if not r.body["duplicate"]) == 1
    m1 = api.get("/members/m1", as_=admin).body
    assert (m1["orders_total"], m1["spend_total_fen"]) == (14, 48_000 - 3000 - 3000)
    assert api.post("/payments/p1/refund", {"amount_fen": 1, "refund_id": "late"}, as_=admin).status == 409
