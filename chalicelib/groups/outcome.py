"""What a cancelled join transaction means, and how long to wait before the
next attempt (pure). The storage edge maps DynamoDB's per-item cancellation
reasons onto the labels of the items it wrote; this decides what to do."""

from __future__ import annotations

import random
from collections.abc import Mapping
from enum import Enum

# item labels, one per item of the join transaction
STORE = "store"  # condition check: the store is open
MEMBERSHIP = "membership"  # the member's single membership item
GROUP = "group"  # the group joined: member_count < capacity
POINTER = "pointer"  # the store's current_seq is the group joined
MEMBER = "member"  # the member profile (home_store_id, group_id)
STATS = "stats"
OLD_GROUP = "old_group"  # the group left on a move
OLD_POINTER = "old_pointer"
OLD_STATS = "old_stats"


class Outcome(Enum):
    STORE_CLOSED = "store_closed"  # refuse
    MEMBERSHIP_CHANGED = "membership_changed"  # another request moved this member: re-read, retry now
    SEQ_MOVED = "seq_moved"  # another join opened the next group: re-read the pointer, retry now
    GROUP_FULL = "group_full"  # advance the pointer (guarded), then retry
    CONTENDED = "contended"  # lost a race on an item or throttled: back off, retry


# whole-request errors a retry can fix (the request did nothing)
_RETRYABLE_ERRORS = frozenset({
    "TransactionConflictException", "TransactionInProgressException", "ThrottlingException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError",
})
# per-item cancellation reasons a retry can fix
_RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
CONDITION_FAILED = "ConditionalCheckFailed"


def classify(error_code: str | None, reasons: Mapping[str, str | None]) -> Outcome | None:
    """None: not a race this loop can resolve; the caller re-raises."""
    if error_code != "TransactionCanceledException":
        return Outcome.CONTENDED if error_code in _RETRYABLE_ERRORS else None
    failed = {label for label, code in reasons.items() if code == CONDITION_FAILED}
    if STORE in failed:
        return Outcome.STORE_CLOSED
    if MEMBERSHIP in failed:
        return Outcome.MEMBERSHIP_CHANGED  # the old-group checks may fail with it: that move already happened
    if failed & {OLD_GROUP, OLD_POINTER}:
        return None  # counts below zero with the membership intact: a broken invariant, be loud
    if POINTER in failed:
        return Outcome.SEQ_MOVED  # checked before GROUP: a full group behind a moved pointer is old news
    if GROUP in failed:
        return Outcome.GROUP_FULL
    if any(code in _RETRYABLE_REASONS for code in reasons.values()):
        return Outcome.CONTENDED
    return None


def backoff_s(attempt: int, rng: random.Random | None = None, base_s: float = 0.004, cap_s: float = 0.15) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)], so racers spread out."""
    return (rng or random).uniform(0.0, min(cap_s, base_s * 2 ** min(attempt, 16)))
