"""What a refused join transaction means (pure). `txn.Transaction` reports
which labelled guards failed; this decides what the join loop does next.
Contention (a lost race, throttling) never reaches here: the transaction
raises `txn.Contended` for it and the loop simply tries again."""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum

# item labels, one per item of the join transaction
STORE = "store"  # condition check: the store is open
MEMBERSHIP = "membership"  # the member's single membership item
GROUP = "group"  # the group joined: member_count < capacity
POINTER = "pointer"  # the store's current_seq is the group joined
MEMBER = "member"  # the member profile (home_store_id, group_id)
STATS = "stats"
FIRST_GROUP = "first_group"  # an advance: group 1, which lists the store's other groups
OLD_GROUP = "old_group"  # the group left on a move
OLD_POINTER = "old_pointer"
OLD_STATS = "old_stats"


class Outcome(Enum):
    STORE_CLOSED = "store_closed"  # refuse
    MEMBERSHIP_CHANGED = "membership_changed"  # another request moved this member: re-read, retry now
    SEQ_MOVED = "seq_moved"  # another join opened the next group: re-read the pointer, retry now
    GROUP_FULL = "group_full"  # advance the pointer (guarded), then retry


def classify(failed: Collection[str]) -> Outcome | None:
    """None: a guard that should never fail did; the caller re-raises."""
    if STORE in failed:
        return Outcome.STORE_CLOSED
    if MEMBERSHIP in failed:
        return Outcome.MEMBERSHIP_CHANGED  # the old-group checks may fail with it: that move already happened
    if set(failed) & {OLD_GROUP, OLD_POINTER}:
        return None  # counts below zero with the membership intact: a broken invariant, be loud
    if POINTER in failed:
        return Outcome.SEQ_MOVED  # checked before GROUP: a full group behind a moved pointer is old news
    if GROUP in failed:
        return Outcome.GROUP_FULL
    return None
