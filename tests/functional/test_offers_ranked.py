"""千人千面: a store's offers ranked per member with a reason; audiences by
RFM segment (moto). The ranking rules themselves are unit-tested."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.clock import FixedClock, set_clock
from tests.api import Api
from tests.functional.test_coupons_api import NOON_FRI, claim, create, member, put_store


@pytest.fixture
def shops(api: Api, admin: str) -> Api:
    """S1: member day FRI, and it is Friday noon."""
    set_clock(FixedClock(NOON_FRI))
    put_store(api, admin, "S1")
    return api


def pay(api: Api, admin: str, who: str, days_ago: list[int], amount: int = 3000) -> None:
    for day in days_ago:
        body = {"payment_id": f"{who}-{day}", "member_id": who, "store_id": "S1", "amount_fen": amount,
                "paid_at": (NOON_FRI - timedelta(days=day)).isoformat()}
        assert api.post("/payments", body, as_=admin).status == 200


def test_offers_are_ranked_for_each_member_with_a_reason(shops: Api, admin: str) -> None:
    first = create(shops, admin, title="首单立减", value=800, min_spend_fen=0)
    big = create(shops, admin, title="满50减20", value=2000, min_spend_fen=5000)
    boost = create(shops, admin, title="会员日加倍", value=500, min_spend_fen=3000, member_day_boost={"value": 1000})
    for who in ("newbie", "fan", "lapsed"):
        assert shops.put("/members/me", {"nickname": who}, as_=member(who)).status == 200
    pay(shops, admin, "fan", [1, 3, 5, 7])  # loyal
    pay(shops, admin, "lapsed", [45, 50, 55], amount=9000)  # at risk

    newbie = shops.get("/stores/S1/offers", as_=member("newbie")).body
    assert newbie["member"]["tier"] == "new" and newbie["offers"][0]["template_id"] == first
    assert newbie["offers"][0]["reason"] == "first-order coupon for new members"

    fan = shops.get("/stores/S1/offers", as_=member("fan")).body  # Friday is S1's member day
    assert fan["member"]["tier"] == "loyal" and fan["offers"][0]["template_id"] == boost
    assert fan["offers"][0]["reason"] == "member-day boost for loyal members"

    lapsed = shops.get("/stores/S1/offers", as_=member("lapsed")).body
    assert lapsed["member"]["tier"] == "at_risk" and lapsed["offers"][0]["template_id"] == big
    assert lapsed["offers"][0]["reason"] == "win-back: we miss you"


def test_what_a_member_already_holds_ranks_lower(shops: Api, admin: str) -> None:
    twice = create(shops, admin, title="可领两次", value=800, min_spend_fen=0, per_member_limit=2)
    other = create(shops, admin, title="满30减3", value=300, min_spend_fen=0)
    assert claim(shops, twice, "S1", member("newbie")).status == 201
    offers = shops.get("/stores/S1/offers", as_=member("newbie")).body["offers"]
    assert [o["template_id"] for o in offers] == [other, twice]
    assert offers[1]["held"] == 1 and offers[1]["reason"].endswith("you already hold 1")


def test_templates_can_target_rfm_segments(shops: Api, admin: str) -> None:
    winback = create(shops, admin, title="老友回归", audience={"segments": ["at_risk", "hibernating"]})
    assert shops.post("/coupon-templates", {**_body(), "audience": {}}, as_=admin).error_code == "validation_error"
    assert shops.post("/coupon-templates", {**_body(), "audience": {"segments": ["vip"]}},
                      as_=admin).error_code == "validation_error"
    for who in ("lapsed", "fresh"):
        shops.put("/members/me", {"nickname": who}, as_=member(who))
    pay(shops, admin, "lapsed", [40, 44, 48], amount=9000)
    pay(shops, admin, "fresh", [1])
    assert claim(shops, winback, "S1", member("fresh")).error_code == "not_eligible"
    assert [o["template_id"] for o in shops.get("/stores/S1/offers", as_=member("fresh")).body["offers"]] == []
    offers = shops.get("/stores/S1/offers", as_=member("lapsed")).body["offers"]
    assert [o["template_id"] for o in offers] == [winback] and offers[0]["reason"] == "win-back: we miss you"
    assert claim(shops, winback, "S1", member("lapsed")).status == 201
    view = shops.get(f"/coupon-templates/{winback}", as_=admin).body
    assert view["audience"] == {"tiers": [], "segments": ["at_risk", "hibernating"]}


def _body() -> dict:
    return {"title": "x", "kind": "amount_off", "value": 100, "claim_start": "2026-11-01T00:00:00+08:00",
            "claim_end": "2026-12-01T00:00:00+08:00", "valid_days": 7}
