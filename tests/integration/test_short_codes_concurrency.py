"""Short codes under real concurrency: many members claiming at once
through two `chalice local` processes on one DynamoDB Local. Every coupon
gets its own live short code, and each code names its own coupon.

Through HTTP this runs CLAIMS (1,000, ~30 s); the issue's 10,000 concurrent
claims run against the claim service in test_short_codes_10k.py, and the
forced-collision case (400 claims drawing from 600 codes) is in
test_console_api.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.coupons.models import ShortCodeRecord
from tests.api import Api, token
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLAIMS = 1000


@pytest.fixture(name="servers")
def two_servers(ddb_env: dict[str, str]) -> Iterator[list[Api]]:
    started = list(ThreadPoolExecutor(2).map(lambda _: ChaliceLocal(ddb_env).start(), range(2)))
    yield [Api(base_url=s.url) for s in started]
    for server in started:
        server.stop()


def test_concurrent_claims_get_distinct_live_short_codes(servers: list[Api], admin: str) -> None:
    api = servers[0]
    store = {"name": "店", "city": "上海", "lat": 31.2, "lng": 121.4}
    assert api.put("/stores/Z1", store, as_=admin).status == 200
    now = datetime.now(UTC)
    tid = api.post("/coupon-templates", {
        "title": "并发券", "kind": "amount_off", "value": 100, "valid_days": 1, "total_stock": CLAIMS,
        "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=1)).isoformat()},
        as_=admin).body["template_id"]
    members = [token("member", f"mz{i}") for i in range(CLAIMS)]

    def claim(i: int) -> dict[str, str]:
        reply = servers[i % 2].post(f"/coupon-templates/{tid}/claim", {"store_id": "Z1"}, as_=members[i])
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    started = time.monotonic()
    with ThreadPoolExecutor(24) as pool:
        coupons = list(pool.map(claim, range(CLAIMS)))
    elapsed = time.monotonic() - started
    codes = [c["short_code"] for c in coupons]
    assert len(set(codes)) == CLAIMS and all(len(c) == 10 and c.isdigit() for c in codes)
    by_code = {r.short_code: r.coupon_id for r in ShortCodeRecord.batch_get(codes)}
    assert by_code == {c["short_code"]: c["coupon_id"] for c in coupons}
    print(f"{CLAIMS} concurrent claims in {elapsed:.1f}s, {len(set(codes))} distinct short codes")
