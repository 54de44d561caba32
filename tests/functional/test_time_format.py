"""Time in one format: instants come back in UTC `Z` from create, read and
duplicate answers alike; refusals a person reads name the store's local time."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import FixedClock
from tests.api import Api
from tests.functional import test_coupons_api as coupons
from tests.functional.test_coupons_api import create, member, template

clock, shops = coupons.clock, coupons.shops  # fixtures


def instants(body: dict[str, Any]) -> dict[str, str]:
    names = ("claim_start", "claim_end", "valid_until", "created_at", "updated_at")
    return {k: v for k, v in body.items() if v is not None and k in names}


def test_a_template_reads_the_same_instants_it_was_created_with(shops: Api, admin: str) -> None:
    created = shops.post("/coupon-templates", template(template_id="t-time"), as_=admin)
    read = shops.get("/coupon-templates/t-time", as_=admin)
    assert created.status == 201 and read.status == 200
    assert instants(created.body) == instants(read.body)
    assert created.body["claim_start"] == "2026-10-31T16:00:00Z"  # sent as 2026-11-01T00:00:00+08:00
    assert all(v.endswith("Z") for v in instants(read.body).values())


def test_a_duplicate_payment_answers_with_the_same_instant(shops: Api, admin: str) -> None:
    shops.put("/members/me", {"nickname": "a"}, as_=member())
    body = {"payment_id": "p1", "member_id": "m1", "store_id": "S1", "amount_fen": 100,
            "paid_at": "2026-11-20T11:00:00+08:00"}
    first, again = (shops.post("/payments", body, as_=admin).body for _ in range(2))
    assert first["paid_at"] == again["paid_at"] == "2026-11-20T03:00:00Z"


def test_a_claim_refused_as_not_started_names_the_store_local_time(shops: Api, admin: str,
                                                                    clock: FixedClock) -> None:
    tid = create(shops, admin, claim_start="2026-11-25T10:00:00+08:00")
    reply = shops.post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, as_=member())
    assert reply.status == 409 and reply.error_code == "not_started"
    assert "2026-11-25 10:00 (Asia/Shanghai)" in reply.body["error"]["message"]


def test_a_posts_offers_carry_their_claim_end_in_utc(shops: Api, admin: str, clock: FixedClock) -> None:
    """A post's offers answered `claim_end` as stored, in the store's offset
    (`2026-12-01T00:00:00+08:00`), where every other instant is UTC `Z`."""
    from chalicelib.campaigns.fanout import InProcessQueue
    from chalicelib.campaigns.tick import run_tick
    from chalicelib.delivery.record import RecordChannel

    create(shops, admin)
    run_tick(clock.now(), InProcessQueue(clock.now(), RecordChannel(), workers=1))
    posts = shops.get(f"/stores/S1/posts?date={clock.now().date()}", as_=admin).body["posts"]
    offers = [o for p in posts for o in p["offers"]]
    assert offers and {o["claim_end"] for o in offers} == {"2026-11-30T16:00:00Z"}
