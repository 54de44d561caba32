"""The channel adapter interface: send one message part to one group chat.

`record` (local default) stores what was sent; `wecom` posts to the group
robot's webhook. Each send returns an outcome instead of raising, so the
post's bookkeeping (which parts reached which group, retry, failure) lives
in one place (campaigns.delivering) for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.settings import Settings


@dataclass(frozen=True)
class Target:
    store_id: str
    group_id: str
    webhook_url: str | None
    chat_ref: str | None = None


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Deferred:
    """Not sent, not failed: the robot's pace allows the next send at `retry_at`."""

    retry_at: datetime


@dataclass(frozen=True)
class Failed:
    error: str


Outcome = Delivered | Deferred | Failed


class Channel(Protocol):
    name: str

    def send(self, target: Target, message_key: str, text: str, now: datetime) -> Outcome:
        """`message_key` = "{post_id}#{group_id}#{part}", stable across retries."""
        ...


def get_channel(settings: Settings) -> Channel:
    if settings.channel == "wecom":
        from chalicelib.delivery.wecom import WeComChannel

        return WeComChannel()
    from chalicelib.delivery.record import RecordChannel

    return RecordChannel()
