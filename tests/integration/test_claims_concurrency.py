"""Real concurrency on DynamoDB Local: two `chalice local` processes sharing
one database, hammered from threads. Outcomes are asserted exactly."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import local_time
from chalicelib.stats.models import StoreDayStats
from tests.api import Api, token
from tests.functional.test_coupons_api import STORE
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]
THREADS = 24


@pytest.fixture(name="servers")
def two_servers(ddb_env: dict[str, str]) -> Iterator[list[Api]]:
    started = list(ThreadPoolExecutor(2).map(lambda _: ChaliceLocal(ddb_env).start(), range(2)))
    yield [Api(base_url=s.url) for s in started]
    for server in started:
        server.stop()


def setup_store(api: Api, admin: str, store_id: str = "S1") -> None:
    assert api.put(f"/stores/{store_id}", {**STORE, "member_day": None}, as_=admin).status == 200


def live_template(api: Api, admin: str, **over: Any) -> str:
    now = datetime.now(UTC)
    body = {"title": "秒杀券", "kind": "amount_off", "value": 500, "valid_days": 1,
            "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=1)).isoformat(),
            **over}
    reply = api.post("/coupon-templates", body, as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


def hammer(servers: list[Api], calls: list[tuple[str, str, Any, str]]) -> list[Any]:
    """Each call is (method, path, body, token); alternate between servers."""
    def one(i: int) -> Any:
        method, path, body, who = calls[i]
        return servers[i % len(servers)].call(method, path, body, as_=who)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(len(calls))))


def outcome(replies: list[Any]) -> Counter[Any]:
    return Counter(r.status if r.status < 300 else r.error_code for r in replies)


def test_hundreds_of_members_never_oversell_a_sharded_stock(servers: list[Api], admin: str) -> None:
    setup_store(servers[0], admin)
    stock, members = 40, 300
    tid = live_template(servers[0], admin, total_stock=stock, stock_shards=4)
    calls = [("POST", f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, token("member", f"m{i}"))
             for i in range(members)]
    replies = hammer(servers, calls)
    assert outcome(replies) == Counter({201: stock, "sold_out": members - stock})
    assert len({r.body["coupon_id"] for r in replies if r.status == 201}) == stock
    template = servers[1].get(f"/coupon-templates/{tid}", as_=admin).body
    assert template["remaining"] == 0
    day = local_time(datetime.now(UTC), "Asia/Shanghai").date().isoformat()
    assert StoreDayStats.get("S1", day).coupons_claimed == stock  # counted in the same transactions


def test_one_member_firing_in_parallel_gets_exactly_the_limit(servers: list[Api], admin: str) -> None:
    setup_store(servers[0], admin)
    tid = live_template(servers[0], admin, per_member_limit=2)  # unlimited stock: only the limit binds
    me = token("member", "greedy")
    replies = hammer(servers, [("POST", f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, me)] * 40)
    assert outcome(replies) == Counter({201: 2, "limit_reached": 38})
    assert len(servers[1].get("/members/me/coupons", as_=me).body["coupons"]) == 2
