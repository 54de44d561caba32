"""The issue's figure: short codes collision-free under 10,000 concurrent
claims, on DynamoDB Local. 32 threads call the claim service (the same
code the HTTP route runs; one TransactWriteItems per claim, the short-code
reservation inside it) for 2,500 members x 4 templates, so 32 claims are
in flight at any moment. The HTTP path itself is covered with 1,000 claims
through two `chalice local` processes (test_short_codes_concurrency.py);
HTTP adds no part to uniqueness, which is the reservation's condition.

Asserted: 10,000 coupons, 10,000 distinct 10-digit codes, every code's
reservation names its own coupon (BatchGet of all), and the staff lookup
(`short_codes.coupon_id_for`) finds a sample of them."""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.coupons import claims, short_codes
from chalicelib.coupons.models import ShortCodeRecord
from chalicelib.coupons.redemptions import code_key
from tests.api import Api
from tests.integration.test_console_api import store, template

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLAIMS = int(os.environ.get("STORELOOP_SHORT_CODE_CLAIMS", "10000"))
TEMPLATES = 4
THREADS = 32


def test_10000_concurrent_claims_get_distinct_findable_short_codes(api: Api, admin: str) -> None:
    store(api, admin, "TK1")
    now = datetime.now(UTC)
    tids = [template(api, admin, title=f"万张券{i}", claim_end=(now + timedelta(hours=2)).isoformat())["template_id"]
            for i in range(TEMPLATES)]
    jobs = [(tids[i % TEMPLATES], f"mk{i // TEMPLATES}") for i in range(CLAIMS)]

    cpu, started = time.process_time(), time.monotonic()
    with ThreadPoolExecutor(THREADS) as threads:
        coupons = list(threads.map(lambda job: claims.claim(job[0], "TK1", job[1], get_clock().now()), jobs))
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu

    codes = [c.short_code for c in coupons]
    assert len({c.coupon_id for c in coupons}) == CLAIMS
    assert len(set(codes)) == CLAIMS and all(c is not None and len(c) == 10 and c.isdigit() for c in codes)
    held = {r.short_code: r.coupon_id for r in ShortCodeRecord.batch_get(codes, consistent_read=True)}
    assert held == {c.short_code: c.coupon_id for c in coupons}
    staff = Principal(sub="tk-clerk", role="staff", store_id="TK1")
    for coupon in random.sample(coupons, 100):
        assert short_codes.coupon_id_for(str(coupon.short_code), staff, code_key(), get_clock().now()) == \
            coupon.coupon_id
    print(f"{CLAIMS} concurrent claims ({THREADS} threads) in {elapsed:.1f} s: {CLAIMS / elapsed:.0f} claims/s, "
          f"{len(set(codes))} distinct short codes; client CPU {cpu:.1f} s")
