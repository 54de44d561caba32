"""Joins under real concurrency: two `chalice local` servers (two processes)
on one DynamoDB Local, hundreds of members at once. Counts must be exact."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from chalicelib.groups.directory import groups_of, mark_listing_complete
from chalicelib.groups.models import GroupMembership, GroupRecord, StoreGroups
from chalicelib.members.models import MemberRecord
from chalicelib.stats.models import StoreDayStats
from tests.api import token
from tests.integration.conftest import ChaliceLocal
from tests.unit.test_geo_cells import destination

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HERE = (31.2304, 121.4737)
ADMIN = token("admin", "hq-ops")
_local = threading.local()


@pytest.fixture
def servers(ddb_env: dict[str, str]) -> Iterator[list[ChaliceLocal]]:
    started = [ChaliceLocal(ddb_env).start(), ChaliceLocal(ddb_env).start()]
    yield started
    for server in started:
        server.stop()


def call(server: ChaliceLocal, method: str, path: str, body: Any, bearer: str) -> tuple[int, Any]:
    session = getattr(_local, "session", None) or requests.Session()
    _local.session = session  # one keep-alive session per thread
    r = session.request(method, server.url + path, json=body, timeout=60,
                        headers={"Authorization": f"Bearer {bearer}"})
    return r.status_code, r.json()


def put_store(server: ChaliceLocal, store_id: str, at: tuple[float, float], capacity: int) -> None:
    body = {"name": "店", "city": "上海市", "lat": at[0], "lng": at[1], "group_capacity": capacity}
    assert call(server, "PUT", f"/stores/{store_id}", body, ADMIN)[0] == 200


def join_all(servers: list[ChaliceLocal], jobs: list[tuple[str, dict[str, Any]]]) -> list[tuple[int, Any]]:
    """Fire every (member_id, body) join at once, alternating servers."""
    def one(index: int) -> tuple[int, Any]:
        member_id, body = jobs[index]
        return call(servers[index % len(servers)], "POST", "/groups/join", body, token("member", member_id))

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(one, range(len(jobs))))


def assert_consistent(store_ids: list[str]) -> dict[str, GroupMembership]:
    """Every count equals what the memberships say; no group over capacity;
    seqs contiguous; profiles agree with memberships; stats add up."""
    memberships = {m.member_id: m for m in GroupMembership.scan(consistent_read=True)}
    per_group = Counter(m.group_id for m in memberships.values())
    per_store = Counter(m.store_id for m in memberships.values())
    for store_id in store_ids:
        groups = list(GroupRecord.query(store_id, consistent_read=True))
        assert [int(g.seq) for g in groups] == list(range(1, len(groups) + 1))
        for g in groups:
            assert 0 <= int(g.member_count) <= int(g.capacity), g.group_id
            assert int(g.member_count) == per_group[g.group_id], g.group_id
        state = StoreGroups.get(store_id, consistent_read=True)
        assert int(state.member_count) == per_store[store_id] == sum(int(g.member_count) for g in groups)
        assert int(state.current_seq) == len(groups)
        # group 1 lists every group the racing joins opened: the batch read by key finds them all
        # (a stack made by this version: its listing is complete, as `cli create-tables` marks it)
        mark_listing_complete()
        assert [(g.seq, g.member_count) for g in groups_of([store_id]).get(store_id, [])] == \
            [(g.seq, g.member_count) for g in groups]
        stats = list(StoreDayStats.query(store_id))
        joined = sum(int(s.members_joined or 0) for s in stats)
        left = sum(int(s.members_left or 0) for s in stats)
        assert joined - left == per_store[store_id]
    for member in MemberRecord.scan(consistent_read=True):
        m = memberships[member.member_id]
        assert (member.home_store_id, member.group_id) == (m.store_id, m.group_id)
    return memberships


def test_hundreds_of_members_joining_one_store_fill_groups_exactly(servers: list[ChaliceLocal]) -> None:
    put_store(servers[0], "hot", HERE, capacity=7)
    members = [f"m{i:03d}" for i in range(168)]  # 24 groups of 7
    replies = join_all(servers, [(m, {"store_id": "hot"}) for m in members])
    assert {status for status, _ in replies} == {200}, [b for s, b in replies if s != 200][:3]
    assert all(body["member_count"] <= body["capacity"] == 7 for _, body in replies)

    memberships = assert_consistent(["hot"])
    assert sorted(memberships) == members  # every member in exactly one group (one membership item each)
    assert {m.group_id for m in memberships.values()} == {f"hot.{n}" for n in range(1, 25)}
    assert Counter(m.group_id for m in memberships.values()) == {f"hot.{n}": 7 for n in range(1, 25)}
    for (_, body), member in zip(replies, members, strict=True):
        assert body["group_id"] == memberships[member].group_id

    listing = call(servers[1], "GET", "/stores/hot/groups", None, ADMIN)[1]
    assert listing["member_count"] == 168 and len(listing["groups"]) == 24

    # joining again, concurrently, changes nothing
    again = join_all(servers, [(m, {"store_id": "hot"}) for m in members[:40]])
    assert [b["group_id"] for _, b in again] == [memberships[m].group_id for m in members[:40]]
    assert_consistent(["hot"])


def test_concurrent_moves_and_joins_keep_every_count_right(servers: list[ChaliceLocal]) -> None:
    put_store(servers[0], "a", HERE, capacity=5)
    put_store(servers[0], "b", destination(*HERE, 0, 6000), capacity=4)
    put_store(servers[0], "c", destination(*HERE, 180, 6000), capacity=6)
    first = join_all(servers, [(f"m{i:02d}", {"store_id": "a"}) for i in range(60)])
    assert {status for status, _ in first} == {200}

    jobs: list[tuple[str, dict[str, Any]]] = []
    for i in range(40):  # 40 members move out of a ...
        jobs.append((f"m{i:02d}", {"store_id": "b" if i % 2 else "c"}))
    for i in range(10):  # ... 10 of them race a second move to the other store ...
        jobs.append((f"m{i:02d}", {"store_id": "c" if i % 2 else "b"}))
    for i in range(30):  # ... while 30 newcomers join a, and 10 join by location
        jobs.append((f"n{i:02d}", {"store_id": "a"}))
    for i in range(10):
        at = destination(*HERE, 0, 6000 + 100 * (i % 3))
        jobs.append((f"p{i:02d}", {"lat": at[0], "lng": at[1], "coord": "wgs84"}))
    replies = join_all(servers, jobs)
    assert {status for status, _ in replies} == {200}, [b for s, b in replies if s != 200][:3]

    memberships = assert_consistent(["a", "b", "c"])
    assert len(memberships) == 100
    per_store = Counter(m.store_id for m in memberships.values())
    assert per_store["a"] == 60 - 40 + 30
    assert per_store["b"] + per_store["c"] == 40 + 10
    assert all(memberships[f"p{i:02d}"].store_id == "b" for i in range(10))
    # a raced member ends in one of the two stores it asked for, counted once
    for i in range(10):
        assert memberships[f"m{i:02d}"].store_id in {"b", "c"}
