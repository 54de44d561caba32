"""Bumping a store's daily counters. Counter names are the attributes of
`StoreDayStats`; `day` is the store's local date of the event.

Use `bump_in(transaction, ...)` inside the TransactWrite that makes the
business change, so the count commits with it; `bump(...)` where the event
is its own write (it is an atomic ADD, safe under any concurrency)."""

from __future__ import annotations

from datetime import date

from pynamodb.transactions import TransactWrite

from chalicelib.stats.models import StoreDayStats


def _actions(counts: dict[str, int]) -> list:
    actions = []
    for name, amount in counts.items():
        attr = getattr(StoreDayStats, name)  # AttributeError = a typo in a counter name
        actions.append(attr.add(amount))
    return actions


def bump(store_id: str, day: date, **counts: int) -> None:
    StoreDayStats(store_id, day.isoformat()).update(actions=_actions(counts))


def bump_in(transaction: TransactWrite, store_id: str, day: date, **counts: int) -> None:
    transaction.update(StoreDayStats(store_id, day.isoformat()), actions=_actions(counts))
