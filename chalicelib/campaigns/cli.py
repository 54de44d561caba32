"""`python -m chalicelib.cli tick --at <ISO instant>`: the scheduled trigger,
run synchronously to completion (same tick, in-process fan-out).

`--store ID` fires only that store's due slots (and re-drives only its
failed posts) and leaves the watermark alone, so the other stores still get
theirs from the next tick; the post ledger makes a later regular tick skip
what this one posted. `--dry-run` lists what is due and changes nothing.
An instant in the future with the `wecom` channel sends real messages ahead
of time, so it needs `--force`."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import db, logs
from chalicelib.campaigns import posts
from chalicelib.campaigns.fanout import PREFETCH, InProcessQueue
from chalicelib.campaigns.slots import window_start
from chalicelib.campaigns.tick import TRIGGER_PERIOD, TickSummary, find_due, read_watermark, run_tick
from chalicelib.campaigns.worker import retry_message, slots_message
from chalicelib.cli import command
from chalicelib.cli.progress import Progress, chunks
from chalicelib.clock import FixedClock, get_clock, iso, set_clock
from chalicelib.delivery.channel import get_channel
from chalicelib.settings import get_settings

log = logs.get_logger("campaigns.cli")
FUTURE_SLACK = timedelta(minutes=1)


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-11-20T12:00:00+08:00")
    return at


def _tick_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", type=_instant, help="the instant to fire as (default: now)")
    p.add_argument("--workers", type=int, default=4, help="stores handled in parallel")
    p.add_argument("--store", metavar="ID", help="only this store's slots and retries; the watermark stays")
    p.add_argument("--dry-run", action="store_true", help="list what is due; send and change nothing")
    p.add_argument("--force", action="store_true", help="allow a future --at with the wecom channel")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")


class ProgressQueue:
    """InProcessQueue in chunks, with a progress bar (on a terminal)."""

    def __init__(self, inner: InProcessQueue):
        self.inner = inner

    def send(self, messages: list[dict[str, Any]]) -> Counter[str]:
        total: Counter[str] = Counter()
        bar = Progress(len(messages), "tick")
        self.inner.read_groups(messages)  # once for the whole tick, not per chunk
        for chunk in chunks(messages, max(1, self.inner.workers * PREFETCH)):
            total.update(self.inner.send(chunk, groups_read=True))
            bar.advance(len(chunk))
        bar.close()
        return total


def _due_for(at: datetime, store: str | None) -> tuple[datetime, list[dict[str, Any]], int, int]:
    start = window_start(at, read_watermark(), TRIGGER_PERIOD)
    by_store, _ = find_due(start, at)
    retries: dict[str, list[str]] = defaultdict(list)
    for post in posts.due_for_retry(at):
        retries[post.store_id].append(post.post_id)
    if store is not None:
        by_store = {k: v for k, v in by_store.items() if k == store}
        retries = defaultdict(list, {k: v for k, v in retries.items() if k == store})
    messages = [slots_message(s, start, at, items) for s, items in sorted(by_store.items())]
    messages += [retry_message(s, ids) for s, ids in sorted(retries.items())]
    return start, messages, sum(len(v) for v in by_store.values()), sum(len(v) for v in retries.values())


def _dry_run(at: datetime, store: str | None, as_json: bool) -> int:
    start, messages, due, retries = _due_for(at, store)
    if as_json:
        print(json.dumps({"dry_run": True, "at": iso(at), "window_start": iso(start), "due": due,
                          "retries": retries, "messages": messages}, ensure_ascii=False))
        return 0
    print(f"dry run: window {iso(start)} .. {iso(at)}: {due} slot(s) due, {retries} post(s) to re-drive")
    for message in messages:
        if message["type"] == "slots":
            for item in message["items"]:
                print(f"  store {message['store_id']}: slot {item['slot']} at {item['at']} ({item['timezone']})")
        else:
            print(f"  store {message['store_id']}: re-drive {', '.join(message['post_ids'])}")
    return 0


@command("tick", _tick_args, help="run the scheduled trigger at an instant (--store, --dry-run, --force)")
def tick(args: argparse.Namespace) -> int:
    db.ensure_bound()
    at: datetime = args.at or datetime.now(UTC)
    settings = get_settings()
    if args.dry_run:
        return _dry_run(at, args.store, args.json)
    if at > datetime.now(UTC) + FUTURE_SLACK and settings.channel == "wecom" and not args.force:
        print(f"refusing: --at {iso(at)} is in the future and STORELOOP_CHANNEL=wecom would send real "
              "messages now. Check with --dry-run, then add --force if you mean it.", file=sys.stderr)
        return 2
    previous = get_clock()
    set_clock(FixedClock(at))  # anything deeper that asks the clock sees the tick's instant
    queue = ProgressQueue(InProcessQueue(at, get_channel(settings), workers=args.workers))
    try:
        if args.store is None:
            summary = run_tick(at, queue)
        else:
            start, messages, due, retries = _due_for(at, args.store)
            summary = TickSummary(at=at, start=start, due=due, retries=retries, messages=len(messages))
            if messages:
                summary.outcome = queue.send(messages)
    finally:
        set_clock(previous)
    if args.json:
        print(json.dumps({"tick": summary.fields(), "store": args.store}, ensure_ascii=False, default=str))
    else:
        print(summary.line() + (f" [store {args.store} only; watermark unchanged]" if args.store else ""))
    return 1 if summary.outcome["errors"] else 0
