"""POST /payments: idempotent by payment_id, member counters by ADD, tiers, openids (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.clock import FixedClock, set_clock
from tests.api import Api, token
from tests.functional.test_stores_api import SHOP

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def pay(api: Api, admin: str, payment_id: str, at: datetime, amount: int = 3500, **who: str) -> dict:
    body = {"payment_id": payment_id, "store_id": "s1", "amount_fen": amount, "paid_at": at.isoformat(),
            **(who or {"member_id": "m1"})}
    reply = api.post("/payments", body, as_=admin)
    assert reply.status == 200, reply.body
    return reply.body


def setup(api: Api, admin: str) -> None:
    set_clock(FixedClock(NOW))
    api.put("/stores/s1", SHOP, as_=admin)
    assert api.put("/members/me", {"nickname": "阿明"}, as_=token("member", "m1")).status == 200


def test_a_payment_counts_once_however_often_it_is_posted(api: Api, admin: str) -> None:
    setup(api, admin)
    first = pay(api, admin, "p1", NOW - timedelta(hours=1))
    again = pay(api, admin, "p1", NOW - timedelta(hours=1))
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert me["orders_total"] == 1 and me["spend_total_fen"] == 3500 and me["nickname"] == "阿明"
    assert me["tier"] == "active"
    stats = api.get("/stats/stores/s1?from=2026-11-20&to=2026-11-20", as_=admin).body["days"][0]
    assert (stats["payments"], stats["gmv_fen"]) == (1, 3500)


def test_the_same_payment_id_with_other_details_is_a_conflict(api: Api, admin: str) -> None:
    setup(api, admin)
    pay(api, admin, "p1", NOW)
    body = {"payment_id": "p1", "member_id": "m1", "store_id": "s1", "amount_fen": 1, "paid_at": NOW.isoformat()}
    reply = api.post("/payments", body, as_=admin)
    assert reply.status == 409 and reply.error_code == "payment_conflict"


def test_tiers_follow_orders_in_the_last_30_days(api: Api, admin: str) -> None:
    setup(api, admin)
    assert api.get("/members/me", as_=token("member", "m1")).body["tier"] == "new"
    for i in range(4):
        pay(api, admin, f"p{i}", NOW - timedelta(days=3 * i))
    assert api.get("/members/me", as_=token("member", "m1")).body["tier"] == "loyal"
    set_clock(FixedClock(NOW + timedelta(days=22)))  # the oldest of the four is now 31 days old
    assert api.get("/members/me", as_=token("member", "m1")).body["tier"] == "active"
    set_clock(FixedClock(NOW + timedelta(days=31)))
    assert api.get("/members/me", as_=token("member", "m1")).body["tier"] == "at_risk"


def test_an_out_of_order_payment_never_moves_last_order_back(api: Api, admin: str) -> None:
    setup(api, admin)
    pay(api, admin, "late", NOW)
    pay(api, admin, "early", NOW - timedelta(days=2))
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert me["last_order_at"].startswith("2026-11-20T04:00:00") and me["orders_total"] == 2


def test_openids_resolve_to_members_and_unknown_ones_are_not_found(api: Api, admin: str) -> None:
    setup(api, admin)
    body = {"payment_id": "p9", "openid": "oAbc123", "store_id": "s1", "amount_fen": 100, "paid_at": NOW.isoformat()}
    assert api.post("/payments", body, as_=admin).status == 404
    assert api.put("/payments/openids/oAbc123", {"member_id": "m1"}, as_=admin).status == 200
    assert api.put("/payments/openids/oAbc123", {"member_id": "m2"}, as_=admin).error_code == "openid_bound"
    assert api.post("/payments", body, as_=admin).body["member_id"] == "m1"


def test_payment_validation_and_access(api: Api, admin: str) -> None:
    setup(api, admin)
    both = {"payment_id": "p1", "member_id": "m1", "openid": "o1", "store_id": "s1", "amount_fen": 100,
            "paid_at": NOW.isoformat()}
    assert api.post("/payments", both, as_=admin).error_code == "validation_error"
    naive = {"payment_id": "p1", "member_id": "m1", "store_id": "s1", "amount_fen": 100, "paid_at": "2026-11-20T12:00"}
    assert api.post("/payments", naive, as_=admin).error_code == "validation_error"
    ok = {**naive, "paid_at": NOW.isoformat()}
    assert api.post("/payments", ok, as_=token("member", "m1")).status == 403
    assert api.post("/payments", ok, as_=token("staff", "pos", store_id="s2")).status == 403
    assert api.post("/payments", ok, as_=token("staff", "pos", store_id="s1")).status == 200
    assert api.post("/payments", {**ok, "payment_id": "p2", "member_id": "ghost"}, as_=admin).status == 404


def test_an_openid_is_never_bound_to_an_unknown_member(api: Api, admin: str) -> None:
    """Binding to a member that does not exist was a 200, and then the openid
    could never be bound to the real member (409 openid_bound) while every
    payment through it answered 404."""
    setup(api, admin)
    reply = api.put("/payments/openids/oGhost", {"member_id": "ghost"}, as_=admin)
    assert reply.status == 404 and reply.error_code == "not_found"
    assert api.put("/payments/openids/oGhost", {"member_id": "m1"}, as_=admin).status == 200
    body = {"payment_id": "p9", "openid": "oGhost", "store_id": "s1", "amount_fen": 100, "paid_at": NOW.isoformat()}
    assert api.post("/payments", body, as_=admin).body["member_id"] == "m1"


def test_a_payment_dated_in_the_future_is_refused_and_counts_nowhere(api: Api, admin: str) -> None:
    """paid_at in 2099 was recorded: the member's last_order_at (a guarded
    max) stayed in 2099 for good and the GMV went to a day decades ahead."""
    setup(api, admin)
    body = {"payment_id": "p1", "member_id": "m1", "store_id": "s1", "amount_fen": 100,
            "paid_at": "2099-01-01T00:00:00+08:00"}
    reply = api.post("/payments", body, as_=admin)
    assert reply.status == 400 and [d["field"] for d in reply.body["error"]["details"]] == ["paid_at"]
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["orders_total"], me["last_order_at"]) == (0, None)
    # a POS clock a few minutes ahead of ours is still fine
    ahead = {**body, "paid_at": (NOW + timedelta(minutes=5)).isoformat()}
    assert api.post("/payments", ahead, as_=admin).status == 200
