"""The store-facts calendar (pure): which weekly item and which hour slot a
payment lands in, and which weeks a refresh reads.

Layout: one item per store per ISO week of the store's local calendar
(`2026-W47`), with 168 hour-of-week slots (MON 00:00 = 0 ... SUN 23:00 =
167) for orders and for spend. A payment is one ADD on two attributes of one
item; a refresh reads the store's last N complete weeks with one Query (N
items). ISO week keys sort as strings, so "the last N weeks" is a range."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

HOURS_PER_WEEK = 168
DEFAULT_WEEKS = 8


def week_key(local_day: date) -> str:
    year, week, _ = local_day.isocalendar()
    return f"{year}-W{week:02d}"


def hour_of_week(local: datetime) -> int:
    return local.weekday() * 24 + local.hour


def slot_of(paid_at: datetime, tz: str) -> tuple[str, int]:
    """(week key, hour-of-week) of an instant on the store's local clock."""
    local = paid_at.astimezone(ZoneInfo(tz))
    return week_key(local.date()), hour_of_week(local)


def orders_attr(hour: int) -> str:
    return f"o{hour:03d}"


def spend_attr(hour: int) -> str:
    return f"s{hour:03d}"


def window(now: datetime, tz: str, weeks: int) -> tuple[str, str]:
    """The first and last week key of the `weeks` complete local weeks
    before the one `now` falls in (a partial week would bias the weekday
    shape towards the days already seen)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    this_monday = today - timedelta(days=today.weekday())
    return week_key(this_monday - timedelta(weeks=weeks)), week_key(this_monday - timedelta(days=1))
