"""Pacing state per robot in DynamoDB, shared by every worker: a guarded
(versioned) append to the robot's send log, so concurrent Lambdas never
together exceed the robot's limit."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import retry, txn
from chalicelib.delivery.models import RobotPace
from chalicelib.delivery.pacing import ROBOT_LIMIT, ROBOT_WINDOW, next_send_at, prune
from chalicelib.errors import Unavailable

_RACE_BUDGET_S = 1.0  # then defer the send: the post is re-driven, never lost


def robot_key(webhook_url: str) -> str:
    return hashlib.sha256(webhook_url.encode()).hexdigest()[:32]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def acquire(webhook_url: str, now: datetime, limit: int = ROBOT_LIMIT,
            window: timedelta = ROBOT_WINDOW) -> datetime | None:
    """Reserve one send for this robot (or other paced sender) at `now`;
    None if reserved, else the instant to try again."""
    key = robot_key(webhook_url)
    try:
        with retry.budget(_RACE_BUDGET_S):
            for _ in retry.attempts(what="the robot's pace"):
                try:
                    pace = RobotPace.get(key, consistent_read=True)
                except DoesNotExist:
                    pace = RobotPace(key, sent_ms=[])
                sent = [datetime.fromtimestamp(ms / 1000, UTC) for ms in pace.sent_ms or []]
                allowed_at = next_send_at(sent, now, limit, window)
                if allowed_at > now:
                    return allowed_at
                pace.sent_ms = [_ms(t) for t in prune(sent, now, window)] + [_ms(now)]
                try:
                    pace.save()  # VersionAttribute: fails if another sender appended since our read
                    return None
                except PutError as exc:
                    if not txn.is_condition_failure(exc):
                        raise
    except Unavailable:
        pass
    return now  # heavy contention: defer rather than risk the limit
