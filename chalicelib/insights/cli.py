"""`python -m chalicelib.cli insights --at <ISO instant> [--hours N]`: the
hourly store insights refresh (each store at its local 00:05), run to
completion as if fired at that instant (and the N-1 following hours); and
`demo-history --days N`: realistic synthetic payments for the seeded stores."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from chalicelib import db
from chalicelib.cli import command
from chalicelib.clock import FixedClock, get_clock, set_clock
from chalicelib.settings import get_settings


def _instant(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-11-20T00:05:00+08:00")
    return at


def _hours(text: str) -> int:
    try:
        hours = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of hours, not {text!r}") from None
    if hours < 1:
        raise argparse.ArgumentTypeError(f"at least 1 (runs the refresh N times, an hour apart), not {hours}")
    return hours


def _insights_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", type=_instant, help="the instant to run as (default: now)")
    p.add_argument("--weeks", type=int, help="N weeks of history (default: STORELOOP_INSIGHTS_WEEKS, 8)")
    p.add_argument("--store", action="append", dest="stores",
                   help="refresh only these stores, now, whatever their local time (repeatable)")
    p.add_argument("--hours", type=_hours, default=1,
                   help="run the hourly refresh N times, an hour apart from --at (default 1)")


@command("insights", _insights_args,
         help="run the hourly store insights refresh as if at an instant (--at, --hours, --store)")
def insights(args: argparse.Namespace) -> int:
    from chalicelib.insights.refresh import run_refresh

    db.ensure_bound()
    start: datetime = args.at or datetime.now(UTC)
    previous = get_clock()
    errors = 0
    try:
        for hour in range(args.hours):
            at = start + timedelta(hours=hour)
            set_clock(FixedClock(at))
            summary = run_refresh(at, args.weeks or get_settings().insights_weeks, args.stores)
            print(summary.line())
            errors += summary.errors
    finally:
        set_clock(previous)
    return 1 if errors else 0


def _history_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=60, help="days of history before --until (default 60)")
    p.add_argument("--until", type=_instant, help="history ends here (default: now)")
    p.add_argument("--stores", type=int, default=0, help="only the first N stores (default: all)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the order volume")
    p.add_argument("--seed", type=int, default=7)


@command("demo-history", _history_args, help="write N days of realistic demo payments for the seeded stores (--days)")
def demo_history(args: argparse.Namespace) -> int:
    from chalicelib.insights.demo import write_history

    db.ensure_bound()
    until: datetime = args.until or datetime.now(UTC)
    written = write_history(until, args.days, args.stores, args.scale, args.seed,
                            progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"demo-history: {written} payments over {args.days} days")
    return 0
