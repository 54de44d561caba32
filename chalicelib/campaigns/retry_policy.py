"""Delivery retry policy (pure): backoff between attempts, when to give up,
and which outbox shard a post lives in."""

from __future__ import annotations

import hashlib
from datetime import timedelta

MAX_ATTEMPTS = 5
BASE_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(minutes=30)
# How long a worker holds a post it is delivering. A worker that dies
# mid-send loses the lease after this and the next tick re-drives the post.
LEASE = timedelta(minutes=5)
OUTBOX_SHARDS = 8  # spreads the sparse outbox index over partitions at the 08:30 burst


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 1, 2, 4, 8 ... minutes, capped."""
    return min(BASE_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def exhausted(attempts: int) -> bool:
    return attempts >= MAX_ATTEMPTS


def outbox_shard(store_id: str) -> str:
    return str(hashlib.sha256(store_id.encode()).digest()[0] % OUTBOX_SHARDS)


def all_shards() -> list[str]:
    return [str(i) for i in range(OUTBOX_SHARDS)]
