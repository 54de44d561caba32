"""GET /stats/stores/{id}: per-day counters from one Query, group sizes walked back from today (moto)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib import counters
from chalicelib.clock import FixedClock, set_clock
from chalicelib.groups.models import GroupRecord
from tests.api import Api, token
from tests.functional.test_stores_api import SHOP


def test_days_in_range_with_rates_and_group_sizes(api: Api, admin: str) -> None:
    set_clock(FixedClock(datetime(2026, 11, 20, 4, tzinfo=UTC)))
    api.put("/stores/s1", SHOP, as_=admin)
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=12,
                created_at=datetime(2026, 11, 1, tzinfo=UTC)).save()
    counters.bump("s1", date(2026, 11, 19), members_joined=5, coupons_claimed=8, coupons_redeemed=2, posts_sent=5)
    counters.bump("s1", date(2026, 11, 20), members_joined=3, members_left=1, coupons_claimed=4, coupons_redeemed=3)
    reply = api.get("/stats/stores/s1?from=2026-11-18&to=2026-11-21", as_=token("staff", "c", store_id="s1"))
    assert reply.status == 200, reply.body
    days = {d["day"]: d for d in reply.body["days"]}
    assert list(days) == ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
    assert days["2026-11-19"]["redemption_rate"] == 0.25 and days["2026-11-19"]["posts_sent"] == 5
    assert days["2026-11-20"]["redemption_rate"] == 0.75
    assert days["2026-11-18"]["redemption_rate"] is None and days["2026-11-18"]["payments"] == 0
    assert [days[d]["group_members"] for d in days] == [5, 10, 12, None]


def test_ranges_are_bounded_and_staff_see_only_their_store(api: Api, admin: str) -> None:
    api.put("/stores/s1", SHOP, as_=admin)
    assert api.get("/stats/stores/s1?from=2026-01-01&to=2026-12-31", as_=admin).error_code == "validation_error"
    assert api.get("/stats/stores/s1?from=2026-11-02&to=2026-11-01", as_=admin).error_code == "validation_error"
    other_staff = token("staff", "c", store_id="s2")
    assert api.get("/stats/stores/s1?from=2026-11-01&to=2026-11-02", as_=other_staff).status == 403


def test_chain_group_sizes_walk_back_at_most_a_year_so_an_old_range_is_a_few_queries(api: Api, admin: str) -> None:
    from chalicelib import db

    set_clock(FixedClock(datetime(2026, 11, 20, 4, tzinfo=UTC)))
    api.put("/stores/s1", SHOP, as_=admin)
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=12,
                created_at=datetime(2026, 11, 1, tzinfo=UTC)).save()
    counters.bump("s1", date(2025, 11, 21), members_joined=2)
    queries: list[str] = []
    events = db.connection().client.meta.events
    events.register("before-call.dynamodb.Query", lambda **_: queries.append("Query"), unique_id="count-queries")
    # a year back (inclusive): walked, one Query per day up to today
    near = api.get("/stats/chain/groups?from=2025-11-21&to=2025-11-22", as_=admin)
    assert near.status == 200 and [d["group_members"] for d in near.body["days"]] == [12, 12]
    assert len(queries) == 365
    queries.clear()
    # further back: the days asked only, sizes unknown (as the store's daily stats)
    far = api.get("/stats/chain/groups?from=2000-01-01", as_=admin)
    assert far.status == 200 and [d["group_members"] for d in far.body["days"]] == [None] * 7
    assert len(queries) == 7


def test_store_and_chain_group_sizes_share_one_year_limit(api: Api, admin: str) -> None:
    """The store's daily stats and the group figures walk back from the same
    place: sizes for a range starting 366 days back, none from 367."""
    from chalicelib.stats import group_figures

    set_clock(FixedClock(datetime(2026, 11, 20, 4, tzinfo=UTC)))
    api.put("/stores/s1", SHOP, as_=admin)
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=12,
                created_at=datetime(2026, 11, 1, tzinfo=UTC)).save()
    counters.bump("s1", date(2026, 11, 20), members_joined=3)
    assert (date(2026, 11, 20) - date(2025, 11, 19)).days == group_figures.WALK_BACK_DAYS
    for path in ("/stats/stores/s1", "/stats/stores/s1/groups", "/stats/chain/groups"):
        walked = api.get(f"{path}?from=2025-11-19&to=2025-11-20", as_=admin)
        assert walked.status == 200 and [d["group_members"] for d in walked.body["days"]] == [9, 9], path
        too_far = api.get(f"{path}?from=2025-11-18&to=2025-11-19", as_=admin)
        assert too_far.status == 200 and [d["group_members"] for d in too_far.body["days"]] == [None, None], path


def test_members_by_day_walks_back_from_the_live_size() -> None:
    from chalicelib.stats.group_figures import members_by_day

    today = date(2026, 11, 20)
    moves = {today: (3, 1), date(2026, 11, 19): (5, 0)}
    assert members_by_day(12, today, date(2026, 11, 18), moves) == {
        today: 12, date(2026, 11, 19): 10, date(2026, 11, 18): 5}
    assert members_by_day(12, today, date(2026, 11, 21), moves) == {}  # a range after today
    assert members_by_day(12, today, date(2025, 11, 18), moves) == {}  # more than a year back
