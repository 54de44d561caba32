"""Pacing per robot (pure): a WeCom group robot takes at most 20 messages
in any 60 seconds. A sliding log of send times answers "may I send now, and
if not, when" exactly, with no burst across a minute boundary."""

from __future__ import annotations

from datetime import datetime, timedelta

ROBOT_LIMIT = 20
ROBOT_WINDOW = timedelta(seconds=60)


def prune(sent: list[datetime], now: datetime, window: timedelta = ROBOT_WINDOW) -> list[datetime]:
    return sorted(t for t in sent if now - t < window)


def next_send_at(sent: list[datetime], now: datetime, limit: int = ROBOT_LIMIT,
                 window: timedelta = ROBOT_WINDOW) -> datetime:
    """`now` if a message may go now, else the instant the oldest send in the
    window ages out."""
    recent = prune(sent, now, window)
    if len(recent) < limit:
        return now
    return recent[len(recent) - limit] + window
