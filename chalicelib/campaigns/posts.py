"""The post ledger (storage). Every state change is a guarded write:

- create: attribute_not_exists(post_id): the one place 'exactly once per
  (store, local date, slot)' is decided. The creator also holds the
  delivery lease (next_attempt_at = now + LEASE). Each create carries a
  fresh `created_by` token, so a put that committed but whose answer was
  lost (re-sent, then refused against itself) is recognised as ours from
  the refusal's ALL_OLD item and delivered now, not after the lease; a
  redelivered fan-out message has a new token and stays a duplicate.
- lease: a retry takes a post only if it is unsent and its lease or backoff
  has expired, so two ticks re-driving the same post never both send it.
- sent / failed: conditional on status, with the day's stats counter in the
  same transaction, so a counter moves exactly once per transition. Only a
  failed condition means "already sent"; a transaction lost to contention
  (e.g. on the shared day-stats item) is retried, never taken for "sent".
- batches (`create_many`, `mark_sent_many`; the in-process fan-out's share
  of up to 25 posts): the same guards, per post, in one TransactWriteItems
  per batch. A post whose guard fails is dropped from the batch (a
  duplicate; or already sent) and the rest is sent again under a new
  token at once (`txn.commit_each`: only contention waits), so one post's
  refusal never decides another's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import counters, retry, txn
from chalicelib.campaigns.errors import PostNotRetryable
from chalicelib.campaigns.models import OfferMap, PostRecord
from chalicelib.campaigns.offers_source import Offer
from chalicelib.campaigns.retry_policy import LEASE, all_shards, backoff, exhausted, outbox_shard
from chalicelib.campaigns.slots import SlotSpec
from chalicelib.errors import NotFound


def post_id_for(local_date: date, slot: str) -> str:
    return f"{local_date.isoformat()}.{slot}"


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def offer_maps(offers: list[Offer]) -> list[OfferMap]:
    return [OfferMap(template_id=o.template_id, title=o.title, kind=o.kind, value=o.value,
                     min_spend_fen=o.min_spend_fen, remaining=o.remaining, claim_end=o.claim_end,
                     boosted="1" if o.boosted else None) for o in offers]


BATCH = 25  # posts per batched create / sent transition (a sent one is 2 items; TransactWriteItems takes 100)


def draft(store_id: str, spec: SlotSpec, local_date: date, fire: datetime, now: datetime, *,
          body: str | None, offers: list[Offer], member_day: bool, group_ids: list[str]) -> PostRecord:
    """The post as `create` would write it (pending, leased to its creator,
    with a fresh `created_by` token)."""
    return PostRecord(store_id, post_id_for(local_date, spec.slot), slot=spec.slot, kind=spec.kind,
                      local_date=local_date.isoformat(), fire_at=fire, created_at=now, status="pending",
                      member_day="1" if member_day else None, body=body, offers=offer_maps(offers),
                      group_ids=group_ids, attempts=1, outbox_shard=outbox_shard(store_id),
                      next_attempt_at=stamp(now + LEASE), created_by=uuid.uuid4().hex)


def create(store_id: str, spec: SlotSpec, local_date: date, fire: datetime, now: datetime, *,
           body: str | None, offers: list[Offer], member_day: bool, group_ids: list[str]) -> PostRecord | None:
    """The post, or None if this (store, date, slot) already has one."""
    post = draft(store_id, spec, local_date, fire, now, body=body, offers=offers, member_day=member_day,
                 group_ids=group_ids)
    return post if _put_one(post) else None


def _put_one(post: PostRecord) -> bool:
    existing = txn.put_if_absent(post, PostRecord.post_id.attr_name)
    return existing is None or existing.created_by == post.created_by


def create_many(drafts: list[PostRecord]) -> list[bool]:
    """Create each drafted post unless its (store, date, slot) already has
    one: one TransactWriteItems per BATCH posts instead of a PutItem each,
    every put guarded by attribute_not_exists as in `create`. True where the
    post is ours. A refused put is someone else's post (a duplicate), unless
    the refusal's ALL_OLD item carries our own `created_by` (our commit whose
    answer was lost); it leaves the batch and the rest is committed again.
    A lone post is a plain conditional PutItem (half the write units)."""
    ours = [False] * len(drafts)
    for first in range(0, len(drafts), BATCH):
        if first + 1 == len(drafts):  # a lone post
            ours[first] = _put_one(drafts[first])
            continue
        index = {f"post{i}": i for i in range(first, min(first + BATCH, len(drafts)))}

        def build(labels: list[str], index: dict[str, int] = index) -> txn.Transaction:
            tx = txn.Transaction()
            for label in labels:
                tx.put(label, drafts[index[label]], condition=PostRecord.post_id.does_not_exist(), old=True)
            return tx

        # a lost race (e.g. a concurrent tick creating the same posts) is tried again inside
        done = txn.commit_each(build, list(index), what="the post create")
        for label in done.committed:
            ours[index[label]] = True
        for label, existing in done.refused.items():
            ours[index[label]] = existing is not None and existing.created_by == drafts[index[label]].created_by
    return ours


def set_content(post: PostRecord, body: str, offers: list[Offer], member_day: bool, group_ids: list[str]) -> None:
    post.update(actions=[PostRecord.body.set(body), PostRecord.offers.set(offer_maps(offers)),
                         PostRecord.member_day.set("1") if member_day else PostRecord.member_day.remove(),
                         PostRecord.group_ids.set(group_ids)],
                condition=PostRecord.status != "sent")


def get(store_id: str, post_id: str) -> PostRecord:
    try:
        return PostRecord.get(store_id, post_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"post {post_id} of store {store_id} not found") from exc


def take_lease(store_id: str, post_id: str, now: datetime) -> PostRecord | None:
    """Claim a delivery attempt of an unsent post whose lease/backoff expired."""
    post = PostRecord(store_id, post_id)
    try:
        post.update(actions=[PostRecord.attempts.add(1), PostRecord.next_attempt_at.set(stamp(now + LEASE))],
                    condition=(PostRecord.status != "sent") & PostRecord.outbox_shard.exists()
                    & (PostRecord.next_attempt_at <= stamp(now)))
    except UpdateError as exc:
        if txn.is_condition_failure(exc):
            return None
        raise
    return post


def mark_part_sent(post: PostRecord, part_key: str) -> None:
    post.update(actions=[PostRecord.sent_parts.add({part_key})])


def _sent_actions(now: datetime, last_part: str | None) -> list[Action]:
    actions: list[Action] = [PostRecord.status.set("sent"), PostRecord.sent_at.set(now),
                             PostRecord.last_error.remove(), PostRecord.outbox_shard.remove(),
                             PostRecord.next_attempt_at.remove()]
    if last_part is not None:
        actions.append(PostRecord.sent_parts.add({last_part}))
    return actions


def mark_sent(post: PostRecord, now: datetime, last_part: str | None = None) -> bool:
    day = date.fromisoformat(post.local_date)
    tx = txn.Transaction()
    tx.update("post", post, _sent_actions(now, last_part), condition=PostRecord.status != "sent")
    counters.bump_in(tx, post.store_id, day, posts_sent=1)
    return _commit_transition(tx)


def mark_sent_many(sent: list[tuple[PostRecord, str | None]], now: datetime) -> list[bool]:
    """`mark_sent` for a batch of delivered posts: one TransactWriteItems
    per BATCH posts, each post's update guarded (status != "sent") as in
    `mark_sent`, with one day-stats ADD per (store, day) for its posts in
    the same transaction, so a counter still moves exactly once per post
    that moved. True where this call moved the post. A post already sent
    (its guard failed) leaves the batch and the rest is committed again."""
    moved = [False] * len(sent)
    for first in range(0, len(sent), BATCH):
        if first + 1 == len(sent):  # a lone post
            moved[first] = mark_sent(sent[first][0], now, sent[first][1])
            continue
        index = {f"post{i}": i for i in range(first, min(first + BATCH, len(sent)))}

        def build(labels: list[str], index: dict[str, int] = index) -> txn.Transaction:
            tx = txn.Transaction()
            per_day: dict[tuple[str, str], int] = {}
            for label in labels:
                post, last_part = sent[index[label]]
                tx.update(label, post, _sent_actions(now, last_part), condition=PostRecord.status != "sent")
                per_day[(post.store_id, post.local_date)] = per_day.get((post.store_id, post.local_date), 0) + 1
            for (store_id, day), n in sorted(per_day.items()):
                counters.bump_in(tx, store_id, date.fromisoformat(day), label=f"stats {store_id} {day}", posts_sent=n)
            return tx

        for label in txn.commit_each(build, list(index), what="the post update").committed:
            moved[index[label]] = True
    return moved


def mark_failed(post: PostRecord, error: str, now: datetime) -> bool:
    """Record a failed attempt: back off and retry, or after the last
    attempt leave the outbox (status failed, re-drivable by POST .../retry)."""
    attempts = int(post.attempts or 0)
    actions: list[Action] = [PostRecord.status.set("failed"), PostRecord.last_error.set(error[:500])]
    tx = txn.Transaction()
    if exhausted(attempts):
        actions += [PostRecord.outbox_shard.remove(), PostRecord.next_attempt_at.remove()]
        tx.update("post", post, actions, condition=(PostRecord.status != "sent") & PostRecord.outbox_shard.exists())
        counters.bump_in(tx, post.store_id, date.fromisoformat(post.local_date), posts_failed=1)
    else:
        actions.append(PostRecord.next_attempt_at.set(stamp(now + backoff(attempts))))
        tx.update("post", post, actions, condition=PostRecord.status != "sent")
    return _commit_transition(tx)


def _commit_transition(tx: txn.Transaction) -> bool:
    """True if this transition committed, False if the post had already moved
    on (its condition failed). A lost race is retried: it says nothing about
    the post."""
    for _ in retry.attempts(what="the post update"):
        try:
            tx.commit()
            return True
        except txn.Refused:
            return False
        except txn.Contended:
            continue
    raise AssertionError("retry.attempts ends by raising")


def defer(post: PostRecord, retry_at: datetime) -> None:
    """The robot is at its pace limit: come back later; this was not a failed attempt."""
    post.update(actions=[PostRecord.next_attempt_at.set(stamp(retry_at)), PostRecord.attempts.add(-1)],
                condition=PostRecord.status != "sent")


def requeue(store_id: str, post_id: str, now: datetime) -> None:
    """Put a terminally failed post back in the outbox with fresh attempts.
    Only a post that left the outbox can be requeued (a guarded write), so
    two operators clicking retry re-drive it once; it no longer counts as
    failed for its day (it will count as sent or failed again)."""
    post = get(store_id, post_id)
    tx = txn.Transaction()
    tx.update("post", post, [PostRecord.outbox_shard.set(outbox_shard(store_id)),
                             PostRecord.next_attempt_at.set(stamp(now)), PostRecord.attempts.set(0)],
              condition=(PostRecord.status == "failed") & PostRecord.outbox_shard.does_not_exist())
    counters.bump_in(tx, store_id, date.fromisoformat(post.local_date), posts_failed=-1)
    if not _commit_transition(tx):
        raise PostNotRetryable(f"post {post_id} is not a failed post out of retries")


def for_day(store_id: str, day: date) -> list[PostRecord]:
    return list(PostRecord.query(store_id, PostRecord.post_id.startswith(f"{day.isoformat()}.")))


def due_for_retry(now: datetime) -> Iterator[PostRecord]:
    """Unsent posts whose lease or backoff has expired: one Query per shard."""
    for shard in all_shards():
        yield from PostRecord.outbox.query(shard, PostRecord.next_attempt_at <= stamp(now))
