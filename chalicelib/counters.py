"""Bumping a store's daily counters (shared by every capability). Counter
names are the attributes of `StoreDayStats`; `day` is the store's local date
of the event.

Use `bump_in(transaction, ...)` inside the `txn.Transaction` that makes the
business change, so the count commits with it exactly once; `bump(...)`
where the event is its own write (an atomic ADD, safe under concurrency)."""

from __future__ import annotations

from datetime import date
from typing import Any

from chalicelib.stats.models import StoreDayStats
from chalicelib.txn import Transaction


def _actions(counts: dict[str, int]) -> list[Any]:
    actions = []
    for name, amount in counts.items():
        attr = getattr(StoreDayStats, name)  # AttributeError = a typo in a counter name
        actions.append(attr.add(amount))
    return actions


def bump(store_id: str, day: date, **counts: int) -> None:
    StoreDayStats(store_id, day.isoformat()).update(actions=_actions(counts))


def bump_in(tx: Transaction, store_id: str, day: date, *, label: str = "stats", **counts: int) -> None:
    tx.update(label, StoreDayStats(store_id, day.isoformat()), _actions(counts))
