"""Refunds (full, partial, idempotent, never more than paid), non-member
payments and the store week facts kept by payments (moto)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.clock import FixedClock, set_clock
from chalicelib.insights.models import StoreWeek
from chalicelib.insights.weeks import orders_attr, slot_of, spend_attr
from tests.api import Api, token
from tests.functional.test_payments_api import NOW, pay, setup


def slot(store_id: str, at: datetime) -> tuple[int, int]:
    week, hour = slot_of(at, "Asia/Shanghai")
    item = StoreWeek.get(store_id, week, consistent_read=True)
    return int(getattr(item, orders_attr(hour)) or 0), int(getattr(item, spend_attr(hour)) or 0)


def distinct(store_id: str) -> int:
    return sum(int(w.last_visitors or 0) for w in StoreWeek.query(store_id))


def test_a_non_member_payment_counts_for_the_store_only(api: Api, admin: str) -> None:
    setup(api, admin)
    body = {"payment_id": "walkin", "store_id": "s1", "amount_fen": 1800, "paid_at": NOW.isoformat()}
    reply = api.post("/payments", body, as_=admin)
    assert reply.status == 200 and reply.body["member_id"] is None and reply.body["tier"] is None
    assert slot("s1", NOW) == (1, 1800)
    assert distinct("s1") == 0
    stats = api.get("/stats/stores/s1?from=2026-11-20&to=2026-11-20", as_=admin).body["days"][0]
    assert (stats["payments"], stats["gmv_fen"]) == (1, 1800)
    assert api.post("/payments", body, as_=admin).body["duplicate"] is True
    assert slot("s1", NOW) == (1, 1800)


def test_distinct_members_count_each_member_once_over_weeks(api: Api, admin: str) -> None:
    setup(api, admin)
    assert api.put("/members/me", {"nickname": "小红"}, as_=token("member", "m2")).status == 200
    pay(api, admin, "a", NOW)
    pay(api, admin, "b", NOW + timedelta(hours=1))
    set_clock(FixedClock(NOW + timedelta(days=7)))  # a payment is never dated ahead of the clock
    pay(api, admin, "c", NOW + timedelta(days=7))  # next week: m1 moves, still one member
    pay(api, admin, "d", NOW - timedelta(days=7))  # an older visit changes nothing
    pay(api, admin, "e", NOW, member_id="m2")
    assert distinct("s1") == 2
    weeks = {w.week: int(w.last_visitors or 0) for w in StoreWeek.query("s1")}
    assert sorted(weeks.values()) == [0, 1, 1]


def test_a_full_refund_reverses_counters_history_and_tier(api: Api, admin: str) -> None:
    setup(api, admin)
    for i in range(4):
        pay(api, admin, f"p{i}", NOW - timedelta(days=i), amount=2000)
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert me["tier"] == "loyal" and me["rfm"]["f"] == 4
    assert slot("s1", NOW - timedelta(days=1)) == (1, 2000)
    reply = api.post("/payments/p1/refund", {}, as_=admin)
    assert reply.status == 200, reply.body
    assert (reply.body["amount_fen"], reply.body["refunded_fen"], reply.body["duplicate"]) == (2000, 2000, False)
    assert reply.body["tier"] == "active"
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["tier"], me["orders_total"], me["spend_total_fen"]) == ("active", 3, 6000)
    assert slot("s1", NOW - timedelta(days=1)) == (0, 0)
    day = (NOW - timedelta(days=1)).astimezone(UTC).date().isoformat()
    stats = api.get(f"/stats/stores/s1?from={day}&to={day}", as_=admin).body["days"][0]
    assert (stats["payments"], stats["gmv_fen"]) == (0, 0)
    again = api.post("/payments/p1/refund", {}, as_=admin)
    assert again.status == 200 and again.body["duplicate"] is True
    assert api.get("/members/me", as_=token("member", "m1")).body["orders_total"] == 3
    # the re-POST of the refunded payment is still a duplicate, not a new order
    assert pay(api, admin, "p1", NOW - timedelta(days=1), amount=2000)["duplicate"] is True


def test_partial_refunds_never_return_more_than_paid(api: Api, admin: str) -> None:
    setup(api, admin)
    pay(api, admin, "p", NOW, amount=3000)
    first = api.post("/payments/p/refund", {"amount_fen": 1000}, as_=admin)
    assert first.status == 200 and first.body["refunded_fen"] == 1000
    assert api.post("/payments/p/refund", {"amount_fen": 1000}, as_=admin).body["duplicate"] is True
    second = api.post("/payments/p/refund", {"amount_fen": 1000, "refund_id": "r2"}, as_=admin)
    assert second.body["refunded_fen"] == 2000
    too_much = api.post("/payments/p/refund", {"amount_fen": 1500, "refund_id": "r3"}, as_=admin)
    assert too_much.status == 409 and too_much.error_code == "refund_exceeds_payment"
    reused = api.post("/payments/p/refund", {"amount_fen": 5, "refund_id": "r2"}, as_=admin)
    assert reused.status == 409 and reused.error_code == "refund_conflict"
    assert slot("s1", NOW) == (1, 1000)  # partial: still an order
    rest = api.post("/payments/p/refund", {}, as_=admin)
    assert (rest.body["amount_fen"], rest.body["refunded_fen"]) == (1000, 3000)
    assert slot("s1", NOW) == (0, 0)
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["orders_total"], me["spend_total_fen"], me["tier"]) == (0, 0, "new")


def test_refund_access_and_validation(api: Api, admin: str) -> None:
    setup(api, admin)
    pay(api, admin, "p", NOW)
    assert api.post("/payments/ghost/refund", {}, as_=admin).status == 404
    assert api.post("/payments/p/refund", {}, as_=token("staff", "pos", store_id="s2")).status == 403
    assert api.post("/payments/p/refund", {}, as_=token("member", "m1")).status == 403
    assert api.post("/payments/p/refund", {"amount_fen": 0}, as_=admin).error_code == "validation_error"
    assert api.post("/payments/p/refund", {"amount_fen": "x"}, as_=admin).error_code == "validation_error"
    assert api.post("/payments/p/refund", {}, as_=token("staff", "pos", store_id="s1")).status == 200
