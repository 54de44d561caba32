"""Coupons over the Chalice test client and moto: templates, offers, claims,
wallet, redemption, reversal and the store's redemption log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.clock import FixedClock, set_clock
from chalicelib.coupons.models import AuditRecord
from chalicelib.stats.models import StoreDayStats
from tests.api import Api, token

# 2026-11-20 is a Friday; 12:00 in Shanghai.
NOON_FRI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
STORE = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "traffic_tier": "high",
         "spend_tier": "high", "member_day": "FRI"}


def template(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "满50减10", "kind": "amount_off", "value": 1000, "min_spend_fen": 5000,
        "claim_start": "2026-11-01T00:00:00+08:00", "claim_end": "2026-12-01T00:00:00+08:00",
        "valid_days": 7}
    body.update(over)
    return body


def put_store(api: Api, admin: str, store_id: str, **over: Any) -> None:
    reply = api.put(f"/stores/{store_id}", {**STORE, **over}, as_=admin)
    assert reply.status == 200, reply.body


def create(api: Api, admin: str, **over: Any) -> str:
    reply = api.post("/coupon-templates", template(**over), as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


@pytest.fixture
def clock() -> FixedClock:
    fixed = FixedClock(NOON_FRI)
    set_clock(fixed)
    return fixed


@pytest.fixture
def shops(api: Api, admin: str, clock: FixedClock) -> Api:
    put_store(api, admin, "S1")
    put_store(api, admin, "S2", traffic_tier="low", spend_tier="low", member_day="MON")
    return api


def member(sub: str = "m1") -> str:
    return token("member", sub)


def staff(store_id: str, sub: str = "clerk1") -> str:
    return token("staff", sub, store_id=store_id)


def claim(api: Api, template_id: str, store_id: str, who: str) -> Any:
    return api.post(f"/coupon-templates/{template_id}/claim", {"store_id": store_id}, as_=who)


def test_template_validation_reports_each_bad_field(api: Api, admin: str) -> None:
    bad = template(kind="percent_off", value=120, claim_end="2026-10-01T00:00:00+08:00",
                   valid_until="2026-12-01T00:00:00+08:00", stock_shards=3)
    reply = api.post("/coupon-templates", bad, as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"
    assert {d["field"] for d in reply.body["error"]["details"]} == {"value", "claim_end", "valid_days",
                                                                     "stock_shards"}


def test_template_syntax_errors_are_per_field(api: Api, admin: str) -> None:
    bad = template(kind="bogus", value=-1, claim_start="2026-11-01T00:00:00", scope={"traffic_tiers": ["huge"]})
    reply = api.post("/coupon-templates", bad, as_=admin)
    assert reply.status == 400
    assert {d["field"] for d in reply.body["error"]["details"]} == {
        "kind", "value", "claim_start", "scope.traffic_tiers[0]"}


def test_only_admins_define_templates(api: Api) -> None:
    reply = api.post("/coupon-templates", template(), as_=member())
    assert reply.status == 403 and reply.error_code == "forbidden"


def test_tiered_templates_reach_only_matching_stores(shops: Api, admin: str) -> None:
    rich = create(shops, admin, scope={"traffic_tiers": ["high"], "spend_tiers": ["high"]})
    poor = create(shops, admin, title="到店礼", value=2000, min_spend_fen=0, scope={"traffic_tiers": ["low"]})
    listed = create(shops, admin, title="S2 only", scope={"store_ids": ["S2"]})
    everywhere = create(shops, admin, title="all stores")
    s1 = {o["template_id"] for o in shops.get("/stores/S1/offers", as_=member()).body["offers"]}
    s2 = {o["template_id"] for o in shops.get("/stores/S2/offers", as_=member()).body["offers"]}
    assert s1 == {rich, everywhere}
    assert s2 == {poor, listed, everywhere}
    reply = claim(shops, rich, "S2", member())
    assert reply.status == 409 and reply.error_code == "not_in_scope"


def test_member_day_boost_applies_in_offers_and_claims(shops: Api, admin: str) -> None:
    tid = create(shops, admin, member_day_boost={"value": 1500}, total_stock=10)
    s1 = shops.get("/stores/S1/offers", as_=member()).body  # S1's member day is FRI: today
    assert s1["member_day"] is True
    assert s1["offers"] == [{"template_id": tid, "title": "满50减10", "kind": "amount_off", "value": 1500,
                             "min_spend_fen": 5000, "remaining": 10, "claim_end": "2026-11-30T16:00:00Z",
                             "boosted": True, "per_member_limit": 1,
                             "reason": "first-order coupon for new members", "held": 0}]
    s2 = shops.get("/stores/S2/offers", as_=member()).body
    assert s2["member_day"] is False  # S2's member day is MON: same template, unboosted there
    assert [(o["value"], o["boosted"]) for o in s2["offers"]] == [(1000, False)]
    claimed = claim(shops, tid, "S1", member())
    assert claimed.status == 201 and claimed.body["value"] == 1500 and claimed.body["status"] == "claimed"


def test_claim_refusals(shops: Api, admin: str, clock: FixedClock) -> None:
    later = create(shops, admin, claim_start="2026-11-25T00:00:00+08:00")
    over = create(shops, admin, claim_start="2026-11-01T00:00:00+08:00", claim_end="2026-11-10T00:00:00+08:00",
                  valid_until="2026-11-30T00:00:00+08:00", valid_days=None)
    vip = create(shops, admin, audience={"tiers": ["loyal"]})
    one = create(shops, admin, total_stock=1)
    assert claim(shops, later, "S1", member()).error_code == "not_started"
    assert claim(shops, over, "S1", member()).error_code == "ended"
    assert claim(shops, vip, "S1", member()).error_code == "not_eligible"
    assert claim(shops, one, "S1", member("a")).status == 201
    assert claim(shops, one, "S1", member("b")).error_code == "sold_out"
    assert claim(shops, one, "S1", member("a")).error_code == "limit_reached"
    assert claim(shops, "nope", "S1", member()).status == 404
    assert claim(shops, one, "nope", member()).status == 404


def test_wallet_shows_status_and_derived_expiry(shops: Api, admin: str, clock: FixedClock) -> None:
    tid = create(shops, admin, valid_days=1, per_member_limit=2)
    first = claim(shops, tid, "S1", member()).body
    clock.advance(hours=2)
    second = claim(shops, tid, "S1", member()).body
    assert first["expires_at"] == "2026-11-21T04:00:00Z"
    clock.advance(hours=23)  # the first has expired, the second has not
    wallet = shops.get("/members/me/coupons", as_=member()).body["coupons"]
    assert [(c["coupon_id"], c["status"]) for c in wallet] == [(second["coupon_id"], "claimed"),
                                                              (first["coupon_id"], "expired")]
    only = shops.get("/members/me/coupons?status=expired", as_=member()).body["coupons"]
    assert [c["code"] for c in only] == [first["code"]]
    assert shops.get("/members/me/coupons?status=used", as_=member()).status == 400


def test_template_edits_never_change_coupons_held(shops: Api, admin: str) -> None:
    tid = create(shops, admin)
    held = claim(shops, tid, "S1", member()).body
    edited = shops.put(f"/coupon-templates/{tid}", template(title="new", value=1, per_member_limit=3), as_=admin)
    assert edited.status == 200 and edited.body["version"] == 2
    [coupon] = shops.get("/members/me/coupons", as_=member()).body["coupons"]
    assert coupon["coupon_id"] == held["coupon_id"] and coupon["title"] == "满50减10" and coupon["value"] == 1000
    stock_change = shops.put(f"/coupon-templates/{tid}", template(total_stock=5), as_=admin)
    assert stock_change.status == 400 and stock_change.body["error"]["details"][0]["field"] == "total_stock"


def test_template_scope_edit_moves_it_between_stores(shops: Api, admin: str) -> None:
    tid = create(shops, admin, scope={"store_ids": ["S1"]})
    shops.put(f"/coupon-templates/{tid}", template(scope={"store_ids": ["S2"]}), as_=admin)
    assert shops.get("/stores/S1/offers", as_=member()).body["offers"] == []
    assert [o["template_id"] for o in shops.get("/stores/S2/offers", as_=member()).body["offers"]] == [tid]
    got = shops.get(f"/coupon-templates/{tid}", as_=admin)
    assert got.status == 200 and got.body["scope"]["store_ids"] == ["S2"]


def test_redeem_once_then_already_redeemed(shops: Api, admin: str) -> None:
    tid = create(shops, admin)
    code = claim(shops, tid, "S1", member()).body["code"]
    reply = shops.post("/redemptions", {"code": code, "spend_fen": 6000, "order_ref": "POS-1"}, as_=staff("S1"))
    assert reply.status == 201, reply.body
    assert reply.body["discount_fen"] == 1000 and reply.body["store_id"] == "S1"
    assert reply.body["staff_id"] == "clerk1"
    again = shops.post("/redemptions", {"code": code, "spend_fen": 6000}, as_=staff("S1", "clerk2"))
    assert again.status == 409 and again.error_code == "already_redeemed"
    wallet = shops.get("/members/me/coupons?status=redeemed", as_=member()).body["coupons"]
    assert len(wallet) == 1


def test_redeem_refusals(shops: Api, admin: str, clock: FixedClock) -> None:
    tid = create(shops, admin, scope={"traffic_tiers": ["high"]}, per_member_limit=5)
    code = claim(shops, tid, "S1", member()).body["code"]
    assert shops.post("/redemptions", {"code": code}, as_=staff("S2")).error_code == "wrong_store"
    assert shops.post("/redemptions", {"code": code, "spend_fen": 4999},
                      as_=staff("S1")).error_code == "min_spend_not_met"
    assert shops.post("/redemptions", {"code": code}, as_=staff("S1")).error_code == "min_spend_not_met"
    tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
    bad = shops.post("/redemptions", {"code": tampered, "spend_fen": 9000}, as_=staff("S1"))
    assert bad.status == 400 and bad.error_code == "invalid_code"
    assert shops.post("/redemptions", {"code": code}, as_=member()).status == 403
    clock.advance(days=8)
    assert shops.post("/redemptions", {"code": code, "spend_fen": 9000}, as_=staff("S1")).error_code == "expired"


def test_percent_off_needs_the_spend(shops: Api, admin: str) -> None:
    tid = create(shops, admin, kind="percent_off", value=15, min_spend_fen=0)
    code = claim(shops, tid, "S1", member()).body["code"]
    missing = shops.post("/redemptions", {"code": code}, as_=staff("S1"))
    assert missing.status == 400 and missing.body["error"]["details"][0]["field"] == "spend_fen"
    ok = shops.post("/redemptions", {"code": code, "spend_fen": 3333}, as_=staff("S1"))
    assert ok.status == 201 and ok.body["discount_fen"] == 499


def test_reverse_returns_the_coupon_once_and_is_logged(shops: Api, admin: str, clock: FixedClock) -> None:
    tid = create(shops, admin)
    code = claim(shops, tid, "S1", member()).body["code"]
    rid = shops.post("/redemptions", {"code": code, "spend_fen": 6000}, as_=staff("S1")).body["redemption_id"]
    assert shops.post(f"/redemptions/{rid}/reverse", as_=staff("S2")).status == 403
    reversed_ = shops.post(f"/redemptions/{rid}/reverse", as_=staff("S1", "mgr"))
    assert reversed_.status == 200, reversed_.body
    assert reversed_.body["status"] == "reversed" and reversed_.body["coupon_status"] == "claimed"
    assert shops.post(f"/redemptions/{rid}/reverse", as_=admin).error_code == "already_reversed"
    again = shops.post("/redemptions", {"code": code, "spend_fen": 6000}, as_=staff("S1"))
    assert again.status == 201
    log = shops.get("/stores/S1/redemptions?date=2026-11-20", as_=staff("S1")).body["redemptions"]
    assert sorted(r["status"] for r in log) == ["redeemed", "reversed"]
    assert shops.get("/stores/S1/redemptions?date=2026-11-20", as_=staff("S2")).status == 403
    assert shops.get("/stores/S1/redemptions?date=2026-11-21", as_=admin).body["redemptions"] == []
    clock.advance(hours=25)
    late = shops.post(f"/redemptions/{again.body['redemption_id']}/reverse", as_=admin)
    assert late.error_code == "reversal_window_closed"
    coupon_id = again.body["coupon_id"]
    audit = [(a.event, a.redemption_id, a.actor_id) for a in AuditRecord.query(coupon_id)]
    assert sorted(audit) == sorted([("redeemed", rid, "clerk1"), ("reversed", rid, "mgr"),
                                    ("redeemed", again.body["redemption_id"], "clerk1")])
    stats = StoreDayStats.get("S1", "2026-11-20")
    assert (stats.coupons_claimed, stats.coupons_redeemed, stats.redemptions_reversed) == (1, 2, 1)


def test_clearance_template_via_service_is_idempotent(shops: Api, admin: str) -> None:
    from chalicelib.coupons import service

    start, end = NOON_FRI - timedelta(hours=1), NOON_FRI + timedelta(hours=6)
    args = dict(template_id="clr-S1-2026-11-20-bread", store_id="S1", title="面包 7折", value_fen=450,
                stock=2, claim_start=start, claim_end=end, now=NOON_FRI)
    assert service.create_clearance_template(**args) == "clr-S1-2026-11-20-bread"
    service.create_clearance_template(**args)
    offers = shops.get("/stores/S1/offers", as_=member()).body["offers"]
    assert [(o["kind"], o["remaining"]) for o in offers] == [("clearance", 2)]
    assert claim(shops, "clr-S1-2026-11-20-bread", "S2", member()).error_code == "not_in_scope"
    assert claim(shops, "clr-S1-2026-11-20-bread", "S1", member()).status == 201
    offers = shops.get("/stores/S1/offers", as_=member()).body["offers"]
    assert offers == []  # the caller has taken their one; offers are per caller
    others = shops.get("/stores/S1/offers", as_=member("m2")).body["offers"]
    assert [o["remaining"] for o in others] == [1]
    assert claim(shops, "clr-S1-2026-11-20-bread", "S1", member("m2")).status == 201
    assert claim(shops, "clr-S1-2026-11-20-bread", "S1", member("m3")).error_code == "sold_out"
    stats = StoreDayStats.get("S1", "2026-11-20")
    assert (stats.coupons_claimed, stats.clearance_units_claimed) == (2, 2)


def test_audience_follows_the_members_order_history(shops: Api, admin: str, clock: FixedClock) -> None:
    vip = create(shops, admin, title="loyal only", audience={"tiers": ["loyal"]})
    assert claim(shops, vip, "S1", member("fan")).error_code == "not_eligible"
    shops.put("/members/me", {"nickname": "fan"}, as_=member("fan"))
    for day in range(4):  # 4 orders in 30 days: loyal
        paid_at = (NOON_FRI - timedelta(days=day + 1)).isoformat()
        reply = shops.post("/payments", {"payment_id": f"p{day}", "member_id": "fan", "store_id": "S1",
                                         "amount_fen": 3000, "paid_at": paid_at}, as_=admin)
        assert reply.status in (200, 201), reply.body
    offers = shops.get("/stores/S1/offers", as_=member("fan")).body["offers"]
    assert [o["template_id"] for o in offers] == [vip]
    assert claim(shops, vip, "S1", member("fan")).status == 201
    assert shops.get("/stores/S1/offers", as_=member("stranger")).body["offers"] == []


def test_hq_may_choose_the_template_id_and_a_retried_create_is_refused(api: Api, admin: str) -> None:
    body = {"template_id": "spring-basket-50-10", "title": "满50减10", "kind": "amount_off", "value": 1000,
            "min_spend_fen": 5000, "claim_start": "2026-11-01T00:00:00+08:00",
            "claim_end": "2026-12-01T00:00:00+08:00", "valid_days": 7}
    first = api.post("/coupon-templates", body, as_=admin)
    assert first.status == 201 and first.body["template_id"] == "spring-basket-50-10"
    again = api.post("/coupon-templates", body, as_=admin)
    assert again.status == 409 and again.error_code == "template_exists"


def test_stats_agree_with_the_redemption_log_even_when_reversed_the_next_day(shops: Api, admin: str,
                                                                            clock: FixedClock) -> None:
    tid = create(shops, admin, per_member_limit=2)
    codes = [claim(shops, tid, "S1", member()).body["code"] for _ in range(2)]
    rids = [shops.post("/redemptions", {"code": c, "spend_fen": 6000}, as_=staff("S1")).body["redemption_id"]
            for c in codes]
    clock.advance(hours=13)  # 2026-11-21 01:00 in Shanghai: the next local day, inside the 24 h window
    assert shops.post(f"/redemptions/{rids[0]}/reverse", as_=staff("S1")).status == 200
    for day in ("2026-11-20", "2026-11-21"):
        log = shops.get(f"/stores/S1/redemptions?date={day}", as_=admin).body["redemptions"]
        row = shops.get(f"/stats/stores/S1?from={day}&to={day}", as_=admin).body["days"][0]
        assert row["coupons_redeemed"] == len(log)
        assert row["redemptions_reversed"] == sum(r["status"] == "reversed" for r in log)
    first = shops.get("/stats/stores/S1?from=2026-11-20&to=2026-11-20", as_=admin).body["days"][0]
    assert (first["coupons_redeemed"], first["redemptions_reversed"], first["redemption_rate"]) == (2, 1, 0.5)
