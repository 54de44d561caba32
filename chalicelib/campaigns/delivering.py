"""Delivering one post to every group of its store through the channel.

Progress is recorded per (group, part) as soon as each message is accepted,
so a retry resends only what did not go out. The one at-least-once edge: a
worker that dies after the robot accepted a message and before
`mark_part_sent` lands resends that one message when the post is
re-driven. Nothing is lost; at worst one message is duplicated."""

from __future__ import annotations

from datetime import datetime

from chalicelib import metrics
from chalicelib.campaigns import posts
from chalicelib.campaigns.models import PostRecord
from chalicelib.delivery.channel import Channel, Deferred, Delivered, Target
from chalicelib.delivery.split import split_body
from chalicelib.groups.directory import store_groups
from chalicelib.groups.models import GroupRecord


def deliver(post: PostRecord, channel: Channel, now: datetime, groups: list[GroupRecord] | None = None) -> str:
    """Returns "sent", "failed" or "deferred" (robot pace)."""
    by_id = {g.group_id: g for g in (store_groups(post.store_id) if groups is None else groups)}
    parts = split_body(post.body or "")
    done = set(post.sent_parts or ())
    errors: list[str] = []
    retry_at: datetime | None = None
    unrecorded: str | None = None  # the last accepted part, recorded with the next write (saves a write per post)
    for group_id in post.group_ids or []:
        group = by_id.get(group_id)
        if group is None:
            continue  # the group was removed since the post was built: no one left to tell
        target = Target(post.store_id, group_id, group.webhook_url, group.chat_ref)
        for index, text in enumerate(parts):
            part_key = f"{group_id}#{index}"
            if part_key in done:
                continue
            if unrecorded is not None:
                posts.mark_part_sent(post, unrecorded)
                unrecorded = None
            outcome = channel.send(target, f"{post.post_id}#{part_key}", text, now)
            if isinstance(outcome, Delivered):
                unrecorded = part_key
                continue
            if isinstance(outcome, Deferred):
                retry_at = outcome.retry_at if retry_at is None else max(retry_at, outcome.retry_at)
            else:
                errors.append(f"{group_id}: {outcome.error}")
            break  # keep a group's parts in order: the rest wait for the retry
    if (errors or retry_at is not None) and unrecorded is not None:
        posts.mark_part_sent(post, unrecorded)
    if errors:
        posts.mark_failed(post, "; ".join(errors), now)
        metrics.count("PostsFailed")
        return "failed"
    if retry_at is not None:
        posts.defer(post, retry_at)
        return "deferred"
    posts.mark_sent(post, now, last_part=unrecorded)
    metrics.count("PostsSent")
    return "sent"
