"""Dashboard figures the console charts, on DynamoDB Local: redemption rate
by the member's tier at claim (chain-wide and per store; counted from the
coupons stream, which devtools/stream_poller.py drains here as Lambda would),
and group members chain-wide and per store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devtools.stream_poller import for_settings
from tests.api import Api, token
from tests.integration.test_console_api import staff_token, store, template

pytestmark = [pytest.mark.integration]


def pay(api: Api, admin: str, member: str, store_id: str, n: int, apart: timedelta = timedelta(days=1),
        ago: timedelta = timedelta(minutes=5)) -> None:
    now = datetime.now(UTC)
    assert api.put("/members/me", {"nickname": member}, as_=token("member", member)).status == 200
    for i in range(n):
        body = {"payment_id": f"p-{member}-{i}", "member_id": member, "store_id": store_id, "amount_fen": 2500,
                "paid_at": (now - ago - i * apart).isoformat()}
        assert api.post("/payments", body, as_=admin).status == 200


def by_tier(reply: Any) -> dict[str, tuple[int, int, float | None]]:
    assert reply.status == 200, reply.body
    assert [t["tier"] for t in reply.body["tiers"]] == ["new", "active", "loyal", "at_risk"]
    return {t["tier"]: (t["coupons_claimed"], t["coupons_redeemed"], t["redemption_rate"])
            for t in reply.body["tiers"]}


def test_redemption_rate_by_member_tier_at_claim_chain_wide_and_per_store(api: Api, admin: str) -> None:
    store(api, admin, "MT1")
    store(api, admin, "MT2", traffic_tier="low")
    tid = template(api, admin, per_member_limit=3)["template_id"]
    pay(api, admin, "m-active", "MT1", 1)
    pay(api, admin, "m-loyal", "MT1", 4)
    assert api.get("/members/me", as_=token("member", "m-loyal")).body["tier"] == "loyal"

    def claim(member: str, store_id: str) -> dict[str, Any]:
        reply = api.post(f"/coupon-templates/{tid}/claim", {"store_id": store_id}, as_=token("member", member))
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    new1, new2 = claim("m-new", "MT1"), claim("m-new", "MT2")
    active = claim("m-active", "MT1")
    loyal1, loyal2 = claim("m-loyal", "MT1"), claim("m-loyal", "MT2")
    # paid after those claims: loyal now, but coupons claimed while new stay "new" (the stream's
    # consumer reads the tier from orders paid up to the claim, however late it runs)
    pay(api, admin, "m-new", "MT1", 4, apart=timedelta(milliseconds=1), ago=timedelta(0))
    staff1, staff2 = staff_token(api, admin, "mt-s1", "MT1"), staff_token(api, admin, "mt-s2", "MT2")
    done = {}
    for coupon, staff in ((new1, staff1), (active, staff1), (loyal1, staff1), (loyal2, staff2)):
        reply = api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff)
        assert reply.status == 201, reply.body
        done[coupon["coupon_id"]] = reply.body["redemption_id"]
    assert api.post(f"/redemptions/{done[active['coupon_id']]}/reverse", as_=staff1).status == 200
    stream = for_settings()
    assert stream.drain() > 0

    chain = by_tier(api.get("/stats/chain/member-tiers", as_=admin))
    assert chain == {"new": (2, 1, 0.5), "active": (1, 0, 0.0), "loyal": (2, 2, 1.0), "at_risk": (0, 0, None)}
    one = by_tier(api.get("/stats/stores/MT2/member-tiers", as_=staff2))
    assert one == {"new": (1, 0, 0.0), "active": (0, 0, None), "loyal": (1, 1, 1.0), "at_risk": (0, 0, None)}
    assert by_tier(api.get("/stats/stores/MT1/member-tiers", as_=admin))["loyal"] == (1, 1, 1.0)
    assert new2["coupon_id"] not in done
    # the new member's next claim is counted as loyal
    claim("m-new", "MT2")
    stream.drain()
    assert by_tier(api.get("/stats/stores/MT2/member-tiers", as_=admin))["loyal"] == (2, 1, 0.5)
    assert api.get("/stats/stores/MT1/member-tiers", as_=staff2).status == 403
    assert api.get("/stats/stores/nope/member-tiers", as_=admin).status == 404
    assert api.get("/stats/chain/member-tiers", as_=staff1).status == 403
    assert api.get("/stats/chain/member-tiers?from=2026-01-02&to=2026-01-01", as_=admin).status == 400
    spec = api.get("/openapi.json").body["paths"]
    assert "/stats/chain/member-tiers" in spec and "/stats/stores/{store_id}/member-tiers" in spec


def test_group_members_and_full_open_groups_chain_wide_and_per_store(api: Api, admin: str) -> None:
    from chalicelib.stats import group_figures

    store(api, admin, "GM1", group_capacity=2)
    store(api, admin, "GM2", group_capacity=3)
    for i, store_id in enumerate(["GM1"] * 5 + ["GM2"] * 2):
        joined = api.post("/groups/join", {"store_id": store_id}, as_=token("member", f"gm{i}"))
        assert joined.status in (200, 201), joined.body
    group_figures.forget_chain()
    chain = api.get("/stats/chain/groups", as_=admin)
    assert chain.status == 200, chain.body
    body = chain.body
    # GM1: 2 + 2 + 1 (two full, one open); GM2: 2 of 3 (open)
    assert (body["stores_with_groups"], body["groups"], body["groups_full"], body["groups_open"],
            body["members"], body["capacity"]) == (2, 4, 2, 2, 7, 9)
    assert len(body["days"]) == 7 and body["days"][-1]["group_members"] == 7
    assert body["days"][-1]["members_joined"] == 7 and body["days"][-2]["group_members"] == 0
    # a member moving stores: left at GM1, joined at GM2; the chain total stays
    assert api.post("/groups/join", {"store_id": "GM2"}, as_=token("member", "gm0")).status in (200, 201)
    one = api.get("/stats/stores/GM2/groups", as_=token("staff", "s", store_id="GM2"))
    assert one.status == 200, one.body
    assert (one.body["groups"], one.body["groups_full"], one.body["members"]) == (1, 1, 3)
    assert one.body["days"][-1]["group_members"] == 3 and one.body["days"][-2]["group_members"] == 0
    gm1 = api.get("/stats/stores/GM1/groups", as_=admin).body
    assert (gm1["groups_full"], gm1["groups_open"], gm1["members"], gm1["days"][-1]["members_left"]) == (1, 2, 4, 1)
    scans = group_figures.scans
    cached = api.get("/stats/chain/groups", as_=admin).body  # within a minute: no second Scan
    assert group_figures.scans == scans and cached["members"] == 7
    group_figures.forget_chain()
    fresh = api.get("/stats/chain/groups", as_=admin).body
    assert (fresh["members"], fresh["groups_full"], fresh["days"][-1]["members_left"]) == (7, 2, 1)
    assert api.get("/stats/chain/groups", as_=token("staff", "s", store_id="GM2")).status == 403
    assert api.get("/stats/stores/GM1/groups", as_=token("staff", "s", store_id="GM2")).status == 403
