"""Delivering one post to every group of its store through the channel.

Progress is recorded per (group, part) as soon as each message is accepted,
so a retry resends only what did not go out. The one at-least-once edge: a
worker that dies after the robot accepted a message and before
`mark_part_sent` lands resends that one message when the post is
re-driven. Nothing is lost; at worst one message is duplicated."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib import metrics
from chalicelib.campaigns import posts
from chalicelib.campaigns.models import PostRecord
from chalicelib.delivery.channel import Channel, Deferred, Delivered, Target
from chalicelib.delivery.split import split_body
from chalicelib.groups.directory import store_groups
from chalicelib.groups.models import GroupRecord


@dataclass
class _Attempt:
    errors: list[str] = field(default_factory=list)
    retry_at: datetime | None = None
    unrecorded: str | None = None  # the last accepted part, recorded with the next write (saves a write per post)


def deliver(post: PostRecord, channel: Channel, now: datetime, groups: list[GroupRecord] | None = None) -> str:
    """Returns "sent", "failed" or "deferred" (robot pace)."""
    attempt = _send(post, channel, now, store_groups(post.store_id) if groups is None else groups)
    if attempt.errors or attempt.retry_at is not None:
        return _not_sent(post, attempt, now)
    posts.mark_sent(post, now, last_part=attempt.unrecorded)
    metrics.count("PostsSent")
    return "sent"


def deliver_many(batch: list[tuple[PostRecord, list[GroupRecord]]], channel: Channel, now: datetime) -> list[str]:
    """`deliver` for a worker's batch of freshly created posts: each post's
    messages go out as in `deliver`; the posts that reached every group are
    then marked sent together (`posts.mark_sent_many`: one transaction per
    25 posts instead of one each). A failed or deferred post is recorded on
    its own, as in `deliver`. The at-least-once edge widens accordingly: a
    worker that dies after sending and before the batch's sent transition
    lands has each of those posts re-driven, resending its last message."""
    results: list[str] = []
    sent: list[tuple[PostRecord, str | None]] = []
    held = getattr(channel, "held", None)  # a channel that can write a batch's messages together (record)
    with held() if held is not None else nullcontext():
        for post, groups in batch:
            attempt = _send(post, channel, now, groups)
            if attempt.errors or attempt.retry_at is not None:
                _flush(channel)
                results.append(_not_sent(post, attempt, now))
                continue
            sent.append((post, attempt.unrecorded))
            results.append("sent")
        _flush(channel)  # every message is written before any post is recorded as sent
    if sent:
        posts.mark_sent_many(sent, now)
        metrics.count("PostsSent", len(sent))
    return results


def _send(post: PostRecord, channel: Channel, now: datetime, groups: list[GroupRecord]) -> _Attempt:
    by_id = {g.group_id: g for g in groups}
    parts = split_body(post.body or "")
    done = set(post.sent_parts or ())
    attempt = _Attempt()
    for group_id in post.group_ids or []:
        group = by_id.get(group_id)
        if group is None:
            continue  # the group was removed since the post was built: no one left to tell
        target = Target(post.store_id, group_id, group.webhook_url, group.chat_ref)
        for index, text in enumerate(parts):
            part_key = f"{group_id}#{index}"
            if part_key in done:
                continue
            if attempt.unrecorded is not None:
                _flush(channel)
                posts.mark_part_sent(post, attempt.unrecorded)
                attempt.unrecorded = None
            outcome = channel.send(target, f"{post.post_id}#{part_key}", text, now)
            if isinstance(outcome, Delivered):
                attempt.unrecorded = part_key
                continue
            if isinstance(outcome, Deferred):
                attempt.retry_at = outcome.retry_at if attempt.retry_at is None else max(attempt.retry_at,
                                                                                         outcome.retry_at)
            else:
                attempt.errors.append(f"{group_id}: {outcome.error}")
            break  # keep a group's parts in order: the rest wait for the retry
    return attempt


def _flush(channel: Channel) -> None:
    """Write the messages a channel holds (`deliver_many`) before recording any as sent."""
    flush = getattr(channel, "flush", None)
    if flush is not None:
        flush()


def _not_sent(post: PostRecord, attempt: _Attempt, now: datetime) -> str:
    if attempt.unrecorded is not None:
        posts.mark_part_sent(post, attempt.unrecorded)
    if attempt.errors:
        posts.mark_failed(post, "; ".join(attempt.errors), now)
        metrics.count("PostsFailed")
        return "failed"
    assert attempt.retry_at is not None
    posts.defer(post, attempt.retry_at)
    return "deferred"
