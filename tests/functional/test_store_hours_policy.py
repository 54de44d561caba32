"""Opening hours on stores (set, shown, open_now on nearby cards), the
policy pin/unpin API and its refusals (moto)."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.clock import FixedClock, set_clock
from tests.api import Api, token

FRI_0930 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
SHOP = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "address": "上海市杨浦区政立路477号"}


def test_hours_are_set_shown_and_answer_open_now_on_nearby_cards(api: Api, admin: str) -> None:
    set_clock(FixedClock(FRI_0930))
    put = api.put("/stores/s1", {**SHOP, "hours": {"FRI": ["10:00-22:00"], "SAT": ["18:00-02:00"]}}, as_=admin)
    assert put.status == 200 and put.body["open_now"] is False and put.body["address"].endswith("477号")
    assert put.body["hours"]["SUN"] == [] and put.body["hours"]["SAT"] == ["18:00-02:00"]
    card = api.get("/stores/nearby?lat=31.3&lng=121.5", as_=token("member", "m1")).body["stores"][0]["store"]
    assert (card["open_now"], card["address"], card["hours"]["FRI"]) == (False, SHOP["address"], ["10:00-22:00"])
    set_clock(FixedClock(datetime(2026, 11, 21, 17, 30, tzinfo=UTC)))  # SUN 01:30: SAT's night is still on
    assert api.get("/stores/s1", as_=admin).body["open_now"] is True
    reply = api.put("/stores/s1/hours", {"hours": {d: ["07:00-00:00"] for d in ("MON", "SUN")},
                                         "afternoon_window": "13:00-16:00"}, as_=admin)
    assert reply.status == 200 and reply.body["afternoon_window"] == "13:00-16:00" and reply.body["open_now"] is False
    slots = {s["slot"]: s["at"] for s in api.get("/stores/s1/slots", as_=admin).body["slots"]}
    assert slots["morning"] == "08:30"
    unknown = api.put("/stores/s1/hours", {"hours": None}, as_=admin).body
    assert unknown["hours"] is None and unknown["open_now"] is None


def test_bad_hours_are_refused_field_by_field(api: Api, admin: str) -> None:
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    for bad in ({"hours": {"FRI": ["10-22"]}}, {"hours": {"XYZ": ["10:00-22:00"]}},
                {"hours": {"FRI": ["24:00-02:00"]}}, {"hours": {}, "afternoon_window": "14:00"}):
        reply = api.put("/stores/s1/hours", bad, as_=admin)
        assert reply.status == 400 and reply.error_code == "validation_error", bad
    assert api.put("/stores/ghost/hours", {"hours": {}}, as_=admin).status == 404
    assert api.put("/stores/s1/hours", {"hours": {}}, as_=token("staff", "c", store_id="s1")).status == 403


def test_pins_are_audited_and_take_effect_from_the_next_local_day(api: Api, admin: str) -> None:
    set_clock(FixedClock(FRI_0930))
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    reply = api.put("/stores/s1/policy", {"pin": {"member_day": "WED", "idle_hour": None}}, as_=admin)
    assert reply.status == 200, reply.body
    day = reply.body["fields"]["member_day"]
    assert (day["mode"], day["pinned_value"], day["current"]) == ("pinned", "WED", None)
    assert day["pending"] == {"value": "WED", "effective_from": "2026-11-21", "by": "admin:hq-ops"}
    assert reply.body["fields"]["idle_hour"]["pending"] is None  # already none: nothing to change
    assert {(a["what"], a["field"]) for a in reply.body["audit"]} == {
        ("pin", "member_day"), ("pin", "idle_hour"), ("scheduled", "member_day")}
    back = api.put("/stores/s1/policy", {"unpin": ["member_day"]}, as_=admin).body
    assert back["fields"]["member_day"]["mode"] == "auto"
    assert back["fields"]["traffic_tier"]["reason"] == "not refreshed yet"


def test_policy_refusals(api: Api, admin: str) -> None:
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    both = api.put("/stores/s1/policy", {"pin": {"member_day": "WED"}, "unpin": ["member_day"]}, as_=admin)
    assert both.status == 400 and both.body["error"]["details"][0]["field"] == "unpin"
    assert api.put("/stores/s1/policy", {"pin": {"traffic_tier": None}}, as_=admin).status == 400
    assert api.put("/stores/s1/policy", {"pin": {"member_day": "FRIDAY"}}, as_=admin).status == 400
    assert api.put("/stores/s1/policy", {"unpin": ["colour"]}, as_=admin).status == 400
    assert api.put("/stores/ghost/policy", {"pin": {"member_day": "WED"}}, as_=admin).status == 404
    assert api.put("/stores/s1/policy", {}, as_=token("staff", "c", store_id="s1")).status == 403
    assert api.get("/stores/s1/insights", as_=token("member", "m1")).status == 403
    assert api.get("/stores/ghost/insights", as_=admin).status == 404


def test_a_due_change_never_overwrites_an_admin_edit_made_after_it_was_decided(api: Api, admin: str) -> None:
    from chalicelib.insights import policy as policies
    from chalicelib.stores.models import StoreRecord

    set_clock(FixedClock(datetime(2026, 11, 20, 4, tzinfo=UTC)))
    assert api.put("/stores/s1", {**SHOP, "member_day": "MON"}, as_=admin).status == 200
    store = StoreRecord.get("s1")  # what the refresh read
    due = {"value": "FRI", "effective_from": "2026-11-20", "by": "auto"}
    policy = policies.StorePolicy("s1", pins={}, version=0, pending={"member_day": due})
    assert api.put("/stores/s1", {**SHOP, "member_day": "TUE"}, as_=admin).status == 200  # the admin, meanwhile
    assert policies.apply_due(store, policy, datetime(2026, 11, 20, 4, tzinfo=UTC)).fields == []
    assert StoreRecord.get("s1").member_day == "TUE" and "member_day" in policy.pending
    fresh = StoreRecord.get("s1")
    assert policies.apply_due(fresh, policy, datetime(2026, 11, 20, 4, tzinfo=UTC)).fields == ["member_day"]
    assert StoreRecord.get("s1").member_day == "FRI" and policy.pending == {}


def test_a_due_change_never_moves_a_store_saved_during_the_refresh_back_to_an_older_version(
        api: Api, admin: str) -> None:
    from chalicelib.insights import policy as policies
    from chalicelib.stores.models import StoreRecord

    refresh_started = datetime(2026, 11, 20, 4, tzinfo=UTC)
    set_clock(FixedClock(datetime(2026, 11, 20, 3, tzinfo=UTC)))
    assert api.put("/stores/s1", {**SHOP, "member_day": "MON"}, as_=admin).status == 200
    store = StoreRecord.get("s1")  # what the refresh read
    # an admin saves the store (other fields only) a minute after the refresh started
    set_clock(FixedClock(datetime(2026, 11, 20, 4, 1, tzinfo=UTC)))
    assert api.put("/stores/s1", {**SHOP, "member_day": "MON", "name": "新名字"}, as_=admin).status == 200
    due = {"value": "FRI", "effective_from": "2026-11-20", "by": "auto"}
    policy = policies.StorePolicy("s1", pins={}, version=0, pending={"member_day": due})
    assert policies.apply_due(store, policy, refresh_started).fields == []
    saved = StoreRecord.get("s1")
    assert saved.updated_at == datetime(2026, 11, 20, 4, 1, tzinfo=UTC) and saved.name == "新名字"
    assert saved.member_day == "MON" and "member_day" in policy.pending  # applied by the next run

