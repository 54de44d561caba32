"""Time is injected: domain code takes `now` or a Clock, never calls datetime.now()."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests (and `cli tick --at`) set by hand."""

    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kw)


_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


def local_time(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def for_people(at: datetime, tz: str) -> str:
    """An instant as a person at the store reads it: `2026-11-20 12:00 (Asia/Shanghai)`."""
    return f"{local_time(at, tz):%Y-%m-%d %H:%M} ({tz})"
