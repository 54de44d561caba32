"""The slot calendar: fire instants per timezone, buckets, windows, due rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.campaigns.slots import (
    CLEARANCE,
    DEFAULT_PLAN,
    SlotSpec,
    due_fire,
    effective_plan,
    fire_at,
    utc_buckets,
    window_buckets,
    window_start,
)

SH, UR = "Asia/Shanghai", "Asia/Urumqi"
NOON = SlotSpec("noon", "12:00", "flash_coupon")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_default_plan_plus_idle_hour() -> None:
    assert [(s.slot, s.at) for s in effective_plan(None, "16:00")] == [
        ("morning", "08:30"), ("noon", "12:00"), ("tea", "15:00"), ("evening", "20:00"), (CLEARANCE, "16:00")]
    assert effective_plan(None, None) == list(DEFAULT_PLAN)
    custom = [SlotSpec("a", "09:00", "poster")]
    assert effective_plan(custom, None) == custom


@pytest.mark.parametrize("tz,at,expected", [
    (SH, "12:00", utc(2026, 11, 20, 4, 0)),
    (UR, "12:00", utc(2026, 11, 20, 6, 0)),
    (SH, "00:10", utc(2026, 11, 19, 16, 10)),  # local date's early hours are the previous UTC day
    ("Europe/Berlin", "08:30", utc(2026, 11, 20, 7, 30)),
])
def test_fire_instants(tz: str, at: str, expected: datetime) -> None:
    assert fire_at(date(2026, 11, 20), at, tz) == expected


def test_zones_without_dst_have_one_bucket_dst_zones_two() -> None:
    assert utc_buckets("08:30", SH, 2026) == {30}
    assert utc_buckets("08:30", UR, 2026) == {150}
    assert utc_buckets("08:30", "Europe/Berlin", 2026) == {390, 450}
    assert fire_at(date(2026, 7, 1), "08:30", "Europe/Berlin") == utc(2026, 7, 1, 6, 30)


def test_window_buckets_are_the_whole_minutes_after_start_up_to_end() -> None:
    assert window_buckets(utc(2026, 1, 1, 0, 25), utc(2026, 1, 1, 0, 30)) == [26, 27, 28, 29, 30]
    assert window_buckets(utc(2026, 1, 1, 23, 58), utc(2026, 1, 2, 0, 1)) == [1439, 0, 1]
    assert window_buckets(utc(2026, 1, 1, 0, 30), utc(2026, 1, 1, 0, 30)) == []
    assert len(window_buckets(utc(2026, 1, 1), utc(2026, 1, 2))) == 1440


def test_window_start_catches_up_but_never_more_than_a_day() -> None:
    now = utc(2026, 1, 2, 12)
    period = timedelta(minutes=5)
    assert window_start(now, None, period) == now - timedelta(hours=24)
    assert window_start(now, now - timedelta(hours=3), period) == now - timedelta(hours=3)
    assert window_start(now, now - timedelta(minutes=1), period) == now - period  # always one period back
    assert window_start(now, now + timedelta(hours=1), period) == now - period  # an older (replayed) instant
    assert window_start(now, now - timedelta(days=3), period) == now - timedelta(hours=24)


def test_due_exactly_at_the_minute_and_not_a_second_before() -> None:
    fire = utc(2026, 11, 20, 4)
    assert due_fire(NOON, SH, fire - timedelta(minutes=5), fire) == (date(2026, 11, 20), fire)
    assert due_fire(NOON, SH, fire - timedelta(minutes=5), fire - timedelta(seconds=1)) is None
    assert due_fire(NOON, SH, fire, fire + timedelta(minutes=5)) is None  # already covered by the last tick


def test_a_late_tick_fires_missed_slots_of_the_same_local_day_only() -> None:
    morning = SlotSpec("morning", "08:30", "poster")
    evening = SlotSpec("evening", "20:00", "ecommerce")
    now = datetime(2026, 11, 21, 8, 0, tzinfo=ZoneInfo(SH))
    start = now - timedelta(hours=13)
    assert due_fire(evening, SH, start, now) is None  # yesterday 20:00: stale by morning
    late = datetime(2026, 11, 20, 14, 0, tzinfo=ZoneInfo(SH))
    assert due_fire(morning, SH, late - timedelta(hours=10), late) == (
        date(2026, 11, 20), datetime(2026, 11, 20, 8, 30, tzinfo=ZoneInfo(SH)))


def test_just_before_midnight_is_caught_by_the_first_tick_after_it() -> None:
    late = SlotSpec("late", "23:58", "poster")
    now = datetime(2026, 11, 21, 0, 0, tzinfo=ZoneInfo(SH))
    assert due_fire(late, SH, now - timedelta(minutes=5), now) == (
        date(2026, 11, 20), datetime(2026, 11, 20, 23, 58, tzinfo=ZoneInfo(SH)))
    assert due_fire(late, SH, now - timedelta(hours=2), now + timedelta(minutes=40)) is None  # past the grace


def test_urumqi_and_shanghai_fire_two_hours_apart() -> None:
    at = datetime(2026, 11, 20, 14, 0, tzinfo=ZoneInfo(SH))  # 12:00 in Urumqi
    assert due_fire(NOON, UR, at - timedelta(minutes=5), at) is not None
    assert due_fire(NOON, SH, at - timedelta(minutes=5), at) is None
