"""Reading the per-store daily counters (`StoreDayStats`), the one way every
stats view does: the chain's rows of some days (one Query of the `by_day`
index per day), one store's rows over a span (one Query of its partition),
and a counter's value as a whole number (absent = 0)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from chalicelib.stats.models import StoreDayStats


def count(value: float | None) -> int:
    return int(value or 0)


def chain_rows(days: Iterable[date]) -> list[StoreDayStats]:
    """Every store's row of each day (stores with no counter that day have none)."""
    return [row for day in days for row in StoreDayStats.by_day.query(day.isoformat())]


def store_rows(store_id: str, first: date, last: date) -> Iterator[StoreDayStats]:
    """One store's rows from `first` to `last`, both included."""
    return StoreDayStats.query(store_id, StoreDayStats.day.between(first.isoformat(), last.isoformat()))
