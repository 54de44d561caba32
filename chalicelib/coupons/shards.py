"""Stock shards (pure). One DynamoDB item sustains about 1,000 writes/s, and
a transaction on an item another transaction holds is cancelled with
TransactionConflict, so a flash coupon's stock is split over N shard items
and each claim decrements one shard chosen at random.

Stock only ever goes down (it is fixed at creation; see docs/coupons.md),
so a shard read as empty stays empty: a strongly consistent read of every
shard that finds them all at 0 proves the template is sold out.

Every shard also carries the template's version and status, and every
template save rewrites the template and all its shards in ONE
TransactWriteItems (at most 100 items): so a template has at most
`MAX_SHARDS` = 99 shards (`TRANSACTION_ITEMS` minus the template itself).
Each shard is its own partition key (`<template_id>#<shard>`,
`models.stock_shard`), so a template's shards land on different partitions
instead of one item collection.

Without a request, a template gets one shard per `UNITS_PER_SHARD` units,
at most `DEFAULT_MAX_SHARDS`; a flash sale asks for more (`stock_shards`)."""

from __future__ import annotations

import math
import random

TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit
MAX_SHARDS = TRANSACTION_ITEMS - 1  # the template's save carries it and all its shards
DEFAULT_MAX_SHARDS = 32
UNITS_PER_SHARD = 50  # below this, more shards only fragment the tail of a sale


def shard_count(total_stock: int, requested: int | None = None) -> int:
    if requested is not None:
        return max(1, min(requested, total_stock, MAX_SHARDS))
    return max(1, min(DEFAULT_MAX_SHARDS, math.ceil(total_stock / UNITS_PER_SHARD)))


def check_fits(shards: int | None) -> int:
    """The number of items a template save writes (the template + its
    shards); refuses a shard count that would not fit one transaction."""
    n = 1 + (shards or 0)
    if n > TRANSACTION_ITEMS:
        raise ValueError(f"{shards} stock shards: a template save would write {n} items "
                         f"(one transaction holds at most {TRANSACTION_ITEMS})")
    return n


def split_stock(total_stock: int, shards: int) -> list[int]:
    """Even split; the remainder goes to the first shards. Sums to total_stock."""
    base, extra = divmod(total_stock, shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def pick_shard(shards: int, known: dict[int, int] | None, rng: random.Random) -> int | None:
    """Which shard to decrement next.

    `known` is None before any read: pick blindly (no read on the happy
    path). After a failed decrement we read every shard; then pick among
    those with stock, weighted by what they hold so shards drain evenly.
    None = every shard is empty: sold out.
    """
    if known is None:
        return rng.randrange(shards)
    candidates = [(shard, left) for shard, left in sorted(known.items()) if left > 0]
    if not candidates:
        return None
    return rng.choices([s for s, _ in candidates], weights=[left for _, left in candidates])[0]


def ceiling_claims_per_s(shards: int, partition_wcu: int = 1000, wcu_per_claim: int = 2) -> int:
    """The stock-side ceiling of one template on DynamoDB: a partition takes
    1,000 WCU/s and a transactional update of a shard (<= 1 KB) costs 2."""
    return shards * partition_wcu // wcu_per_claim
