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

from chalicelib import logs, metrics, retry
from chalicelib.campaigns import posts
from chalicelib.campaigns.models import PostRecord
from chalicelib.delivery.channel import Channel, Deferred, Delivered, Target
from chalicelib.delivery.split import split_body
from chalicelib.groups.directory import store_groups
from chalicelib.groups.models import GroupRecord

log = logs.get_logger("campaigns.delivering")
FALLBACK_BUDGET_S = 10.0  # the per-post fallback's retries, all posts together


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
    if posts.mark_sent(post, now, last_part=attempt.unrecorded):
        metrics.count("PostsSent")  # once per post: not again when a re-drive got there first
    return "sent"


class PartlyDelivered(Exception):
    """`deliver_many` raised after recording some of its posts: `results[i]`
    is what was recorded for the batch's post i ("sent", "failed",
    "deferred"), None where nothing was (that post is the outbox's to
    re-drive). The error that stopped it is the `__cause__`."""

    def __init__(self, results: list[str | None], cause: BaseException):
        super().__init__(str(cause))
        self.results = results


def deliver_many(batch: list[tuple[PostRecord, list[GroupRecord]]], channel: Channel, now: datetime) -> list[str]:
    """`deliver` for a worker's batch of freshly created posts: each post's
    messages go out as in `deliver`; the posts that reached every group are
    then marked sent together (`posts.mark_sent_many`: one transaction per
    25 posts instead of one each). A failed or deferred post is recorded on
    its own, as in `deliver`.

    One post must not cost the others a repeat: if a post raises mid-batch
    (a channel or DynamoDB error), the posts already delivered are recorded
    before the error goes up, and if the batched sent transition fails each
    of its posts is recorded on its own (`_record_sent`). An error that
    leaves a post unrecorded goes up as `PartlyDelivered`, naming what was
    recorded (a fallback that records every post returns normally), so the
    caller counts those posts as posted and only the others as failed
    (`PostsSent` counts each recorded post once). What stays is the edge no
    code can close: a worker that dies after sending and before the sent
    transition lands has those posts re-driven, each resending its last
    message."""
    results: list[str | None] = [None] * len(batch)
    sent: list[tuple[int, PostRecord, str | None]] = []
    held = getattr(channel, "held", None)  # a channel that can write a batch's messages together (record)
    flushed = False
    try:
        with held() if held is not None else nullcontext():
            try:
                for index, (post, groups) in enumerate(batch):
                    attempt = _send(post, channel, now, groups)
                    if attempt.errors or attempt.retry_at is not None:
                        _flush(channel)
                        results[index] = _not_sent(post, attempt, now)
                        continue
                    sent.append((index, post, attempt.unrecorded))
            finally:
                _flush(channel)  # every message is written before any post is recorded as sent
                flushed = True
    except Exception as exc:
        # the posts whose messages are out are recorded, then the error goes
        # up; if a held channel could not write them, they are re-driven
        if flushed:
            _record_sent(sent, now, results)
        raise PartlyDelivered(results, exc) from exc
    error = _record_sent(sent, now, results)
    if error is not None:
        raise PartlyDelivered(results, error) from error
    return [result or "sent" for result in results]


def _record_sent(sent: list[tuple[int, PostRecord, str | None]], now: datetime,
                 results: list[str | None]) -> Exception | None:
    """The batched sent transition, falling back to one transition per post
    when the batch's fails (a post the batch could not write must not leave
    the others unrecorded: unrecorded posts are re-driven and re-sent).
    Each post recorded is "sent" in `results`; returns the first per-post
    error, if any."""
    if not sent:
        return None
    try:
        moved = posts.mark_sent_many([(post, last_part) for _, post, last_part in sent], now)
        if any(moved):
            metrics.count("PostsSent", sum(moved))  # as the day's `posts_sent`: once per post that moved
        for index, _, _ in sent:
            results[index] = "sent"
        return None
    except Exception:  # noqa: BLE001 - then post by post; what still fails is re-driven by the outbox
        log.exception("batched sent transition failed; recording post by post", extra={"fields": {"posts": len(sent)}})
    first: Exception | None = None
    with retry.budget(FALLBACK_BUDGET_S):  # a DynamoDB outage must not hold the worker past its timeout
        for index, post, last_part in sent:
            try:
                if posts.mark_sent(post, now, last_part=last_part):
                    metrics.count("PostsSent")
            except Exception as exc:  # noqa: BLE001 - the next posts still get their chance
                log.exception("sent transition failed", extra={"fields": {"post_id": post.post_id}})
                first = first or exc
                continue
            results[index] = "sent"
    return first


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
