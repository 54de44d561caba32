"""Members in WeCom groups, and groups full / open: chain-wide and per store.

- Per store: one Query on the store's `groups` partition (exact, live) and
  one Query on its `store-day-stats` partition for the daily joins / leaves.
- Chain-wide: the live figures need every group's `member_count`. There is
  no chain-wide index over groups, and a chain-wide counter item bumped by
  every join would make all joins in the chain contend on one item, so the
  chain figures come from a Scan of the `groups` table (one small item per
  group, only `store_id, seq, member_count, capacity` projected), cached
  per container for `CHAIN_TTL_S` seconds: at most one Scan a minute per
  container, never one per request. Daily joins / leaves come from the same
  `store-day-stats.by_day` Queries as the chain stats.

Members at the end of a past day are walked back from the live total with
each later day's joins and leaves (`members_by_day`, also for the group
sizes in a store's daily stats, `GET /stats/stores/{id}`).
A group is "full" when `member_count >= capacity` (joins then go to the
next group), otherwise "open"."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import Field

from chalicelib.groups.directory import store_groups
from chalicelib.groups.models import GroupRecord
from chalicelib.schema import ApiModel
from chalicelib.settings import Settings, get_settings
from chalicelib.stats.day_rows import chain_rows, count, store_rows
from chalicelib.stats.models import StoreDayStats

CHAIN_TTL_S = 60.0
# Group sizes per day are walked back from today's live size, which needs
# every day's joins and leaves from the first day asked up to today: chain-
# wide that is one by_day Query per day. For a range that starts further
# back than this, group_members is null (here and in a store's daily stats).
WALK_BACK_DAYS = 366


def walks_back(first: date, today: date) -> bool:
    """Whether group sizes reach back to `first`: not after today, at most a year back."""
    return first <= today and (today - first).days <= WALK_BACK_DAYS


def read_until(first: date, last: date, today: date) -> date:
    """The last day whose joins and leaves to read for the days first..last:
    on to today when the sizes are walked back from today's."""
    return max(last, today) if walks_back(first, today) else last


def members_by_day(current: int, today: date, first: date, moves: dict[date, tuple[int, int]]) -> dict[date, int]:
    """Members in groups at the end of each day from `first` to today: the
    live `current`, walked back through each later day's (joined, left)
    (pure). Empty when `first` is too far back or after today; days after
    today have no value."""
    members: dict[date, int] = {}
    if not walks_back(first, today):
        return members
    running, day = current, today
    while day >= first:
        members[day] = running
        joined, left = moves.get(day, (0, 0))
        running -= joined - left
        day = date.fromordinal(day.toordinal() - 1)
    return members


class GroupDay(ApiModel):
    day: date
    group_members: int | None = Field(description="members in groups at the end of the day (null after today)")
    members_joined: int
    members_left: int


class GroupFigures(ApiModel):
    store_id: str | None = Field(description="null: the whole chain")
    as_of: str = Field(description="live: the figures below are now, not per day")
    stores_with_groups: int
    groups: int
    groups_full: int = Field(description="member_count >= capacity")
    groups_open: int
    members: int = Field(description="members in groups now")
    capacity: int = Field(description="sum of the groups' capacities")
    days: list[GroupDay]


@dataclass(frozen=True)
class Live:
    stores: int
    groups: int
    full: int
    members: int
    capacity: int


def live_of(groups: Iterable[GroupRecord]) -> Live:
    stores: set[str] = set()
    n = full = members = capacity = 0
    for g in groups:
        stores.add(g.store_id)
        count, cap = int(g.member_count or 0), int(g.capacity or 0)
        n += 1
        members += count
        capacity += cap
        full += count >= cap
    return Live(len(stores), n, full, members, capacity)


_lock = threading.Lock()
_chain: tuple[Settings, float, Live] | None = None
scans = 0  # chain Scans made (the test checks the cache)


def chain_live() -> Live:
    global _chain, scans
    settings = get_settings()
    with _lock:
        if _chain is not None and _chain[0] is settings and _chain[1] > time.monotonic():
            return _chain[2]
    scans += 1
    live = live_of(GroupRecord.scan(attributes_to_get=["store_id", "seq", "member_count", "capacity"]))
    with _lock:
        _chain = (settings, time.monotonic() + CHAIN_TTL_S, live)
    return live


def forget_chain() -> None:
    global _chain
    with _lock:
        _chain = None


def figures(store_id: str | None, live: Live, today: date, moves: dict[date, tuple[int, int]],
            days: list[date]) -> GroupFigures:
    """`moves`: (joined, left) per day, for every day from the first asked up
    to today, or only the days asked when they start too far back to walk
    (then no group sizes) (pure)."""
    members = members_by_day(live.members, today, days[0], moves)
    return GroupFigures(
        store_id=store_id, as_of="now", stores_with_groups=live.stores, groups=live.groups, groups_full=live.full,
        groups_open=live.groups - live.full, members=live.members, capacity=live.capacity,
        days=[GroupDay(day=d, group_members=members.get(d), members_joined=moves.get(d, (0, 0))[0],
                       members_left=moves.get(d, (0, 0))[1]) for d in days])


def moves(rows: Iterable[StoreDayStats]) -> dict[date, tuple[int, int]]:
    joined: Counter[date] = Counter()
    left: Counter[date] = Counter()
    for row in rows:
        d = date.fromisoformat(row.day)
        joined[d] += count(row.members_joined)
        left[d] += count(row.members_left)
    return {d: (joined[d], left[d]) for d in set(joined) | set(left)}


def _span(days: list[date], today: date) -> list[date]:
    """The days asked, plus every day after them up to today (for walking back)."""
    last = read_until(days[0], days[-1], today)
    return [date.fromordinal(o) for o in range(days[0].toordinal(), last.toordinal() + 1)]


def chain_figures(days: list[date], today: date) -> GroupFigures:
    span = _span(days, today)
    rows = chain_rows(span)
    return figures(None, chain_live(), today, moves(rows), days)


def store_figures(store_id: str, days: list[date], today: date) -> GroupFigures:
    span = _span(days, today)
    rows = store_rows(store_id, span[0], span[-1])
    return figures(store_id, live_of(store_groups(store_id)), today, moves(rows), days)
