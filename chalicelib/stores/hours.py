"""Opening hours (pure): per weekday, zero or more intervals, overnight
allowed. No I/O; every function takes plain values.

An interval is (open, close) in minutes of the local day. `close <= open`
means it runs past midnight into the next local day (18:00-02:00 on FRI
covers FRI 18:00 .. SAT 02:00); `open == close` is open round the clock.
A weekday missing from the map is closed all day. `None` hours (a store
nobody told us about) means "always open": v1 behaviour, nothing gated.

Stores keep local wall-clock time (`zoneinfo`); Storeloop's zones
(Asia/Shanghai UTC+8, Asia/Urumqi UTC+6, Asia/Tashkent UTC+5 ...) have no
DST, and DST zones work too because every check is done in local time."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.types import WEEKDAYS, hhmm_minutes

Interval = tuple[int, int]
WeekHours = dict[str, list[Interval]]  # weekday (MON..SUN) -> intervals
DAY = 24 * 60


def parse_interval(text: str) -> Interval:
    """"10:00-22:00" (or "18:00-02:00" overnight)."""
    start, _, end = text.partition("-")
    return hhmm_minutes(start.strip()), hhmm_minutes(end.strip())


def fmt(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def fmt_interval(interval: Interval) -> str:
    return f"{fmt(interval[0])}-{fmt(interval[1])}"


def every_day(interval: Interval) -> WeekHours:
    return {day: [interval] for day in WEEKDAYS}


def dumps(hours: WeekHours | None) -> str | None:
    if hours is None:
        return None
    return json.dumps({d: [fmt_interval(i) for i in hours.get(d, [])] for d in WEEKDAYS}, separators=(",", ":"))


def loads(text: str | None) -> WeekHours | None:
    if not text:
        return None
    raw = json.loads(text)
    return {d: [parse_interval(i) for i in raw.get(d, [])] for d in WEEKDAYS}


def _covers(interval: Interval, minute: int) -> bool:
    """`minute` of the interval's own opening day (may be >= DAY: the next day)."""
    start, end = interval
    length = DAY if end == start else (end - start) % DAY
    return start <= minute < start + length


def open_at_local(hours: WeekHours | None, local: datetime) -> bool:
    """Open at this local wall-clock moment (today's intervals, or
    yesterday's overnight ones still running)."""
    if hours is None:
        return True
    minute = local.hour * 60 + local.minute
    today = WEEKDAYS[local.weekday()]
    yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
    return (any(_covers(i, minute) for i in hours.get(today, []))
            or any(_covers(i, minute + DAY) for i in hours.get(yesterday, [])))


def open_at(hours: WeekHours | None, instant: datetime, tz: str) -> bool:
    return open_at_local(hours, instant.astimezone(ZoneInfo(tz)))


def open_minute(hours: WeekHours | None, weekday: str, minute: int) -> bool:
    """Open at `minute` of local `weekday` (0 <= minute < DAY)."""
    index = WEEKDAYS.index(weekday)
    # any Monday will do: hours are by weekday, wall-clock
    monday = date(2024, 1, 1)
    local = datetime.combine(monday + timedelta(days=index), datetime.min.time()) + timedelta(minutes=minute)
    return open_at_local(hours, local)


def open_whole_hour(hours: WeekHours | None, weekday: str, hour: int) -> bool:
    """Open for all of [hour:00, hour+1:00) on that weekday (checked at every minute)."""
    return all(open_minute(hours, weekday, hour * 60 + m) for m in range(60))


def open_days_at(hours: WeekHours | None, minute: int) -> frozenset[str]:
    """The weekdays on which the store is open at local `minute`."""
    return frozenset(d for d in WEEKDAYS if open_minute(hours, d, minute))


def typical_interval(hours: WeekHours) -> Interval | None:
    """The most common first interval over the open days (ties: earliest
    weekday): the day plans are adjusted to."""
    counts: dict[Interval, int] = {}
    for day in WEEKDAYS:
        if hours.get(day):
            first = hours[day][0]
            counts[first] = counts.get(first, 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda i: counts[i])  # dicts keep insertion order: first seen wins ties
