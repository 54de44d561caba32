"""Groups over the Chalice test client and moto: join, overflow, move,
idempotence, refusals, admin binding, listings, stats."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.geo.coords import wgs84_to_gcj02
from chalicelib.stats.models import StoreDayStats
from tests.api import Api, token
from tests.unit.test_geo_cells import destination

HERE = (31.2304, 121.4737)
HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"


def put_store(api: Api, admin: str, store_id: str, at: tuple[float, float] = HERE, **extra: Any) -> None:
    body = {"name": "店", "city": "上海市", "lat": at[0], "lng": at[1], "coord": "wgs84", **extra}
    assert api.put(f"/stores/{store_id}", body, as_=admin).status == 200


def join(api: Api, member: str, **body: Any) -> Any:
    return api.post("/groups/join", body, as_=token("member", member))


def groups_of(api: Api, admin: str, store_id: str) -> Any:
    reply = api.get(f"/stores/{store_id}/groups", as_=admin)
    assert reply.status == 200, reply.body
    return reply.body


def test_joins_fill_groups_to_capacity_then_open_the_next(api: Api, admin: str) -> None:
    put_store(api, admin, "s1", group_capacity=3)
    replies = [join(api, f"m{i}", store_id="s1").body for i in range(7)]
    assert [(r["seq"], r["member_count"]) for r in replies] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1)]
    assert replies[0] == {"group_id": "s1.1", "store_id": "s1", "seq": 1, "member_count": 1, "capacity": 3,
                          "chat_ref": None, "join": None}  # join: WeCom is off here
    listing = groups_of(api, admin, "s1")
    assert listing["member_count"] == 7 and listing["current_seq"] == 3
    assert [(g["group_id"], g["member_count"], g["capacity"]) for g in listing["groups"]] == [
        ("s1.1", 3, 3), ("s1.2", 3, 3), ("s1.3", 1, 3)]


def test_joining_again_returns_the_same_group_and_counts_once(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    first = join(api, "m1", store_id="s1")
    again = join(api, "m1", store_id="s1")
    by_point = join(api, "m1", lat=HERE[0], lng=HERE[1])
    assert first.status == again.status == by_point.status == 200
    assert first.body == again.body == by_point.body
    assert groups_of(api, admin, "s1")["member_count"] == 1


def test_the_member_profile_shows_the_group_without_a_prior_put(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    join(api, "m1", store_id="s1")
    me = api.get("/members/me", as_=token("member", "m1"))
    assert me.status == 200
    assert me.body["home_store_id"] == "s1" and me.body["group_id"] == "s1.1"
    # a later profile update leaves the group alone, and the join left the profile alone
    assert api.put("/members/me", {"nickname": "小王"}, as_=token("member", "m1")).status == 200
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["nickname"], me["home_store_id"], me["group_id"]) == ("小王", "s1", "s1.1")


def test_moving_to_another_store_leaves_the_old_group(api: Api, admin: str) -> None:
    put_store(api, admin, "a", group_capacity=2)
    put_store(api, admin, "b", destination(*HERE, 0, 5000))
    for m in ("m1", "m2", "m3"):
        join(api, m, store_id="a")
    moved = join(api, "m1", store_id="b").body
    assert (moved["group_id"], moved["member_count"]) == ("b.1", 1)
    a = groups_of(api, admin, "a")
    assert a["member_count"] == 2 and [g["member_count"] for g in a["groups"]] == [1, 1]
    # the freed seat in a.1 is not refilled: new members go to the current group (live-QR behaviour)
    assert join(api, "m4", store_id="a").body["group_id"] == "a.2"
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["home_store_id"], me["group_id"]) == ("b", "b.1")


def test_join_by_location_picks_the_nearest_covering_store(api: Api, admin: str) -> None:
    put_store(api, admin, "near", destination(*HERE, 90, 300))
    put_store(api, admin, "far", destination(*HERE, 270, 600))
    put_store(api, admin, "shut", destination(*HERE, 0, 50), status="closed")
    assert join(api, "m1", lat=HERE[0], lng=HERE[1]).body["store_id"] == "near"
    g_lat, g_lng = wgs84_to_gcj02(*destination(*HERE, 270, 550))
    assert join(api, "m2", lat=g_lat, lng=g_lng, coord="gcj02").body["store_id"] == "far"


def test_no_covering_store_is_409_no_store_nearby(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    far = destination(*HERE, 45, 1200)
    reply = join(api, "m1", lat=far[0], lng=far[1])
    assert reply.status == 409 and reply.error_code == "no_store_nearby"
    assert api.get("/members/me", as_=token("member", "m1")).status == 404  # nothing written


def test_closed_and_unknown_stores_cannot_be_joined(api: Api, admin: str) -> None:
    put_store(api, admin, "shut", status="closed")
    reply = join(api, "m1", store_id="shut")
    assert reply.status == 409 and reply.error_code == "store_closed"
    reply = join(api, "m1", store_id="nope")
    assert reply.status == 404 and reply.error_code == "not_found"


def test_a_member_already_in_a_store_that_closes_keeps_their_group(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    join(api, "m1", store_id="s1")
    put_store(api, admin, "s1", status="closed")
    assert join(api, "m1", store_id="s1").body["group_id"] == "s1.1"
    assert join(api, "m2", store_id="s1").error_code == "store_closed"


def test_join_bodies_are_validated_and_only_members_join(api: Api, admin: str) -> None:
    for body in ({}, {"lat": 31.2}, {"store_id": "s1", "lat": 31.2, "lng": 121.4}, {"store_id": "bad id"},
                 {"lat": 95, "lng": 121}, {"lat": 31, "lng": 121, "coord": "bd09"}, {"store_id": "s1", "x": 1}):
        reply = api.post("/groups/join", body, as_=token("member", "m1"))
        assert reply.status == 400 and reply.error_code == "validation_error", body
    assert api.post("/groups/join", {"store_id": "s1"}, as_=token("staff", "st", "s1")).status == 403
    assert api.post("/groups/join", {"store_id": "s1"}).status == 401


def test_admin_binds_a_group_to_its_chat_and_robot(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    join(api, "m1", store_id="s1")
    reply = api.put("/groups/s1.1", {"chat_ref": "wrOgAAAA", "webhook_url": HOOK}, as_=admin)
    assert reply.status == 200, reply.body
    assert reply.body["chat_ref"] == "wrOgAAAA" and reply.body["webhook_set"] is True
    assert "webhook_url" not in reply.body  # the URL holds the robot's key: write-only
    assert join(api, "m2", store_id="s1").body["chat_ref"] == "wrOgAAAA"
    # a partial edit leaves the other field; null clears
    assert api.put("/groups/s1.1", {"webhook_url": None}, as_=admin).body == {
        **reply.body, "webhook_set": False, "member_count": 2}
    from chalicelib.groups.directory import store_groups
    group = store_groups("s1")[0]
    assert (group.chat_ref, group.webhook_url, group.member_count) == ("wrOgAAAA", None, 2)


def test_group_edits_are_validated(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    join(api, "m1", store_id="s1")
    for body in ({}, {"webhook_url": "http://qyapi.weixin.qq.com/x"}, {"webhook_url": "https://127.0.0.1/x"},
                 {"webhook_url": "https://user:pw@qyapi.weixin.qq.com/x"}, {"webhook_url": "not a url"},
                 {"chat_ref": ""}, {"other": 1}):
        reply = api.put("/groups/s1.1", body, as_=admin)
        assert reply.status == 400 and reply.error_code == "validation_error", body
    assert api.put("/groups/s1.9", {"chat_ref": "x"}, as_=admin).status == 404
    assert api.put("/groups/nodot", {"chat_ref": "x"}, as_=admin).status == 404
    assert api.put("/groups/s1.1", {"chat_ref": "x"}, as_=token("member", "m1")).status == 403


def test_store_groups_are_listed_for_that_stores_staff_and_admins(api: Api, admin: str) -> None:
    put_store(api, admin, "s1")
    put_store(api, admin, "s2", destination(*HERE, 0, 5000))
    join(api, "m1", store_id="s1")
    assert api.get("/stores/s1/groups", as_=token("staff", "st1", "s1")).body["groups"][0]["member_count"] == 1
    assert api.get("/stores/s1/groups", as_=token("staff", "st2", "s2")).status == 403
    assert api.get("/stores/s1/groups", as_=token("member", "m1")).status == 403
    assert api.get("/stores/s2/groups", as_=admin).body == {
        "store_id": "s2", "member_count": 0, "current_seq": None, "groups": []}
    assert api.get("/stores/nope/groups", as_=admin).status == 404


def test_daily_stats_count_joins_and_leaves_on_the_store_local_date(api: Api, admin: str) -> None:
    put_store(api, admin, "a")
    put_store(api, admin, "b", destination(*HERE, 0, 5000), timezone="Asia/Urumqi")
    join(api, "m1", store_id="a")
    join(api, "m2", store_id="a")
    join(api, "m1", store_id="b")
    join(api, "m1", store_id="b")  # idempotent: no second count
    a = {s.day: s for s in StoreDayStats.query("a")}
    b = {s.day: s for s in StoreDayStats.query("b")}
    assert sum(int(s.members_joined or 0) for s in a.values()) == 2
    assert sum(int(s.members_left or 0) for s in a.values()) == 1
    assert sum(int(s.members_joined or 0) for s in b.values()) == 1
    assert all(s.members_left is None for s in b.values())


def test_lost_races_are_retried_until_the_join_commits(api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.groups import join as joiner

    put_store(api, admin, "s1")
    real, calls = joiner._attempt, []

    def flaky(*args: Any) -> Any:  # the first attempts lose a TransactionConflict race
        calls.append(1)
        if len(calls) <= 3:
            raise joiner.txn.Contended()
        return real(*args)

    monkeypatch.setattr(joiner, "_attempt", flaky)
    reply = join(api, "m1", store_id="s1")
    assert reply.status == 200 and reply.body["member_count"] == 1 and len(calls) == 4
    assert groups_of(api, admin, "s1")["member_count"] == 1


def test_a_join_that_keeps_losing_gives_up_with_503_and_writes_nothing(api: Api, admin: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.groups import join as joiner

    put_store(api, admin, "s1")
    from chalicelib import retry

    def contended(*args: Any) -> Any:
        raise joiner.txn.Contended()

    monkeypatch.setattr(retry, "REQUEST_BUDGET_S", 0.05)
    monkeypatch.setattr(joiner, "_attempt", contended)
    reply = join(api, "m1", store_id="s1")
    assert reply.status == 503 and reply.error_code == "try_again"
    assert reply.headers.get("Retry-After") == "1"
    assert groups_of(api, admin, "s1")["groups"] == []
