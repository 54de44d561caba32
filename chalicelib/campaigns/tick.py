"""The scheduled trigger: find the store slots due by `now` and fan them out.

Reads the schedule buckets of the minutes since the last processed instant
(the watermark), never the store table, so a tick with nothing due costs a
handful of empty Queries whatever the number of stores. Re-drives posts
whose delivery failed or whose worker died (the outbox). Advances the
watermark only after the fan-out was handed on, so a crashed tick is
simply redone by the next one."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import metrics
from chalicelib.campaigns import posts, schedule
from chalicelib.campaigns.fanout import FanoutQueue
from chalicelib.campaigns.models import PostRecord, TickWatermark
from chalicelib.campaigns.slots import SlotSpec, bucket_name, due_fire, window_buckets, window_start
from chalicelib.campaigns.worker import DueItem, retry_message, slots_message
from chalicelib.clock import iso

TRIGGER_PERIOD = timedelta(minutes=5)
_BATCH_GET = 100  # BatchGetItem's limit
_READERS = 8  # batch reads in flight at once
_WATERMARK = "slots"


@dataclass
class TickSummary:
    at: datetime
    start: datetime
    buckets: int = 0
    due: int = 0
    retries: int = 0
    messages: int = 0
    outcome: Counter[str] = field(default_factory=Counter)
    duration_ms: float = 0.0

    def line(self) -> str:
        o = self.outcome
        text = (f"tick {iso(self.at)}: {self.due} due, {o['posted']} posted, {o['duplicate']} duplicate")
        extras = {k: v for k, v in sorted(o.items()) if k not in ("posted", "duplicate") and v}
        if self.retries:
            extras["retries"] = self.retries
        if extras:
            text += " (" + ", ".join(f"{k} {v}" for k, v in extras.items()) + ")"
        return text

    def fields(self) -> dict[str, object]:
        """The summary as log fields (and metrics: `report`)."""
        o = self.outcome
        return {"at": iso(self.at), "window_start": iso(self.start), "duration_ms": round(self.duration_ms, 1),
                "due": self.due, "posted": o["posted"], "duplicates": o["duplicate"],
                "failures": o["errors"] + o["retry_failed"], "retries": self.retries, "messages": self.messages,
                "outcome": dict(sorted(o.items()))}

    def report(self, log: logging.Logger) -> None:
        """One JSON log line, and the TickRuns/TickDuration/PostsDue/PostsDuplicate metrics."""
        log.info("tick", extra={"fields": self.fields()})
        metrics.count("TickRuns")
        metrics.record("TickDuration", round(self.duration_ms, 1))
        metrics.count("PostsDue", self.due)
        if self.outcome["duplicate"]:
            metrics.count("PostsDuplicate", self.outcome["duplicate"])


def read_watermark() -> datetime | None:
    try:
        return TickWatermark.get(_WATERMARK, consistent_read=True).processed_to
    except DoesNotExist:
        return None


def advance_watermark(to: datetime) -> None:
    """Only forward: a slow tick for an earlier instant never pulls it back."""
    try:
        TickWatermark(_WATERMARK).update(
            actions=[TickWatermark.processed_to.set(to)],
            condition=TickWatermark.processed_to.does_not_exist() | (TickWatermark.processed_to < to))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def find_due(start: datetime, end: datetime) -> tuple[dict[str, list[DueItem]], int]:
    """Due index items grouped by store (the worker re-checks each)."""
    by_store: dict[str, list[DueItem]] = defaultdict(list)
    seen: set[str] = set()
    buckets = window_buckets(start, end)
    for minute in buckets:
        bucket = bucket_name(minute)
        for item in schedule.bucket_items(bucket):
            if item.key in seen:
                continue  # a DST zone's slot sits in two buckets of a day-long window
            if due_fire(SlotSpec(item.slot, item.at, item.kind), item.timezone, start, end) is None:
                continue
            seen.add(item.key)
            by_store[item.store_id].append(DueItem(bucket, item.key, item.rev, item.slot, item.at, item.timezone))
    return by_store, len(buckets)


def drop_posted(by_store: dict[str, list[DueItem]], start: datetime, end: datetime) -> int:
    """Drop the due items whose post already exists (a replayed or
    overlapping tick): one BatchGetItem per 100 keys instead of a worker
    building each post's content only for the ledger to refuse it. A filter
    only: the ledger's guarded create still decides (an eventually
    consistent read that misses a just-created post costs a refused create,
    never a second post; an unsent post is the outbox's to re-drive)."""
    wanted: dict[tuple[str, str], DueItem] = {}
    for store_id, items in by_store.items():
        for item in items:
            due = due_fire(SlotSpec(item.slot, item.at, ""), item.timezone, start, end)
            if due is not None:
                wanted[(store_id, posts.post_id_for(due[0], item.slot))] = item
    if not wanted:
        return 0
    keys = list(wanted)
    chunks = [keys[i:i + _BATCH_GET] for i in range(0, len(keys), _BATCH_GET)]

    def read(chunk: list[tuple[str, str]]) -> list[PostRecord]:
        return list(PostRecord.batch_get(chunk, attributes_to_get=["store_id", "post_id"]))

    if len(chunks) == 1:
        existing = read(chunks[0])
    else:
        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            existing = [post for page in pool.map(read, chunks) for post in page]
    dropped = 0
    for post in existing:
        posted = wanted.get((post.store_id, post.post_id))
        if posted is not None and posted in by_store.get(post.store_id, []):
            by_store[post.store_id].remove(posted)
            dropped += 1
    for store_id in [s for s, items in by_store.items() if not items]:
        del by_store[store_id]
    return dropped


def run_tick(now: datetime, queue: FanoutQueue) -> TickSummary:
    started = time.perf_counter()
    start = window_start(now, read_watermark(), TRIGGER_PERIOD)
    summary = TickSummary(at=now, start=start)
    by_store, summary.buckets = find_due(start, now)
    already = drop_posted(by_store, start, now)
    messages = [slots_message(store_id, start, now, items) for store_id, items in sorted(by_store.items())]
    summary.due = sum(len(items) for items in by_store.values()) + already
    retry_by_store: dict[str, list[str]] = defaultdict(list)
    for post in posts.due_for_retry(now):
        retry_by_store[post.store_id].append(post.post_id)
    summary.retries = sum(len(ids) for ids in retry_by_store.values())
    messages += [retry_message(store_id, ids) for store_id, ids in sorted(retry_by_store.items())]
    summary.messages = len(messages)
    if messages:
        summary.outcome = queue.send(messages)
    summary.outcome["duplicate"] += already  # as the ledger would have answered
    if not summary.outcome["errors"]:
        # With errors (in-process only: SQS retries its own), keep the
        # watermark so the next tick re-reads this window; the ledger drops
        # what did get posted.
        advance_watermark(now)
    summary.duration_ms = (time.perf_counter() - started) * 1000
    return summary
