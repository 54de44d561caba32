"""`python -m chalicelib.cli tick --at <ISO instant>`: the scheduled trigger,
run synchronously to completion (same tick, in-process fan-out)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from chalicelib import db
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.tick import run_tick
from chalicelib.cli import command
from chalicelib.clock import FixedClock, get_clock, set_clock
from chalicelib.delivery.channel import get_channel
from chalicelib.settings import get_settings


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-11-20T12:00:00+08:00")
    return at


def _tick_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", type=_instant, help="the instant to fire as (default: now)")
    p.add_argument("--workers", type=int, default=4, help="stores handled in parallel")


@command("tick", _tick_args)
def tick(args: argparse.Namespace) -> int:
    db.ensure_bound()
    at: datetime = args.at or datetime.now(UTC)
    previous = get_clock()
    set_clock(FixedClock(at))  # anything deeper that asks the clock sees the tick's instant
    try:
        summary = run_tick(at, InProcessQueue(at, get_channel(get_settings()), workers=args.workers))
    finally:
        set_clock(previous)
    print(summary.line())
    return 1 if summary.outcome["errors"] else 0
