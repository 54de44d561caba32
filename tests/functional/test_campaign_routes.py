"""Slot plans, posts and the retry route over the Chalice test client (moto)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.tick import run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.record import RecordChannel
from tests.api import Api, token
from tests.functional.test_stores_api import SHOP

AT_NOON = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_store_without_a_plan_has_the_default_plus_its_idle_hour(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    reply = api.get("/stores/s1/slots", as_=token("staff", "clerk", store_id="s1"))
    assert reply.status == 200, reply.body
    assert reply.body["custom"] is False
    assert [(s["slot"], s["at"], s["kind"]) for s in reply.body["slots"]] == [
        ("morning", "08:30", "poster"), ("noon", "12:00", "flash_coupon"), ("tea", "15:00", "afternoon_promo"),
        ("evening", "20:00", "ecommerce"), ("clearance", "16:00", "clearance")]


def test_admin_sets_a_plan_and_bad_plans_are_refused_field_by_field(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    plan = {"slots": [{"slot": "breakfast", "at": "07:45", "kind": "poster"},
                      {"slot": "noon", "at": "11:30", "kind": "flash_coupon"}]}
    reply = api.put("/stores/s1/slots", plan, as_=admin)
    assert reply.status == 200, reply.body
    assert reply.body["custom"] is True
    assert [s["slot"] for s in reply.body["slots"]] == ["breakfast", "noon", "clearance"]
    bad = {"slots": [{"slot": "a", "at": "24:00", "kind": "poster"}, {"slot": "b", "at": "09:00", "kind": "spam"}]}
    reply = api.put("/stores/s1/slots", bad, as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"
    assert {d["field"] for d in reply.body["error"]["details"]} == {"slots[0].at", "slots[1].kind"}
    dup = {"slots": [{"slot": "a", "at": "09:00", "kind": "poster"}, {"slot": "a", "at": "10:00", "kind": "poster"}]}
    assert api.put("/stores/s1/slots", dup, as_=admin).error_code == "validation_error"
    assert api.put("/stores/s1/slots", plan, as_=token("staff", "c", store_id="s1")).status == 403
    assert api.put("/stores/nope/slots", plan, as_=admin).status == 404


def test_posts_of_a_day_are_listed_for_the_stores_staff_only(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    set_clock(FixedClock(AT_NOON))
    summary = run_tick(AT_NOON, InProcessQueue(AT_NOON, RecordChannel(), workers=1))
    assert summary.outcome["posted"] == 2  # morning (missed, same day) and noon
    reply = api.get("/stores/s1/posts?date=2026-11-20", as_=token("staff", "c", store_id="s1"))
    assert reply.status == 200, reply.body
    noon = {p["slot"]: p for p in reply.body["posts"]}["noon"]
    assert noon["post_id"] == "2026-11-20.noon" and noon["kind"] == "flash_coupon"
    assert noon["status"] == "sent" and noon["group_ids"] == [] and "政立路店" in noon["body"]
    assert noon["fire_at"].startswith("2026-11-20T04:00:00")
    assert api.get("/stores/s1/posts?date=2026-11-20", as_=token("staff", "c", store_id="s2")).status == 403
    assert api.get("/stores/s1/posts?date=20261120", as_=admin).error_code == "validation_error"
    assert api.get("/stores/s1/posts?date=2026-11-21", as_=admin).body == {"posts": []}


def test_only_a_failed_post_can_be_retried(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    set_clock(FixedClock(AT_NOON))
    run_tick(AT_NOON, InProcessQueue(AT_NOON, RecordChannel(), workers=1))
    reply = api.post("/stores/s1/posts/2026-11-20.noon/retry", as_=admin)
    assert reply.status == 409 and reply.error_code == "not_retryable"
    assert api.post("/stores/s1/posts/2026-11-20.none/retry", as_=admin).status == 404
