"""A TransactWrite whose items carry labels, so a cancellation says which
guard failed ("stock", "limit", "coupon", ...) instead of a list index, plus
the small retry policy shared by the coupon services."""

from __future__ import annotations

import random
import time
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactGetError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from chalicelib import db
from chalicelib.stats.counters import bump_in

CONDITION_FAILED = "ConditionalCheckFailed"
CONFLICT = "TransactionConflict"
# Cancellation codes and whole-call errors worth another try: contention, not refusal.
_RETRYABLE = {CONFLICT, "ThrottlingError", "ProvisionedThroughputExceeded", "TransactionInProgressException",
              "TransactionConflictException", "ThrottlingException", "ProvisionedThroughputExceededException",
              "InternalServerError"}


class LabeledTransaction:
    """Items commit in DynamoDB's order: condition checks, deletes, puts,
    updates (PynamoDB's order); labels are kept in the same order."""

    def __init__(self) -> None:
        self.tx = TransactWrite(connection=db.connection())
        self._checks: list[str] = []
        self._deletes: list[str] = []
        self._puts: list[str] = []
        self._updates: list[str] = []

    def check(self, label: str, model_cls: Any, hash_key: Any, condition: Any) -> None:
        self.tx.condition_check(model_cls, hash_key, condition=condition)
        self._checks.append(label)

    def delete(self, label: str, model: Any, condition: Any = None) -> None:
        self.tx.delete(model, condition=condition)
        self._deletes.append(label)

    def put(self, label: str, model: Any, condition: Any = None) -> None:
        self.tx.save(model, condition=condition)
        self._puts.append(label)

    def update(self, label: str, model: Any, actions: list[Any], condition: Any = None) -> None:
        self.tx.update(model, actions=actions, condition=condition)
        self._updates.append(label)

    def bump(self, store_id: str, day: Any, **counts: int) -> None:
        bump_in(self.tx, store_id, day, **counts)
        self._updates.append("stats")

    def commit(self) -> None:
        self.tx._commit()

    def reasons(self, exc: TransactWriteError) -> dict[str, str]:
        """label -> cancellation code, for the items that caused it."""
        labels = self._checks + self._deletes + self._puts + self._updates
        out: dict[str, str] = {}
        for label, reason in zip(labels, exc.cancellation_reasons or [], strict=False):
            if reason is not None and reason.code not in (None, "None"):
                out[label] = reason.code
        return out


def is_contention(exc: TransactWriteError, reasons: dict[str, str]) -> bool:
    if any(code in _RETRYABLE for code in reasons.values()):
        return True
    return not reasons and exc.cause_response_code in _RETRYABLE


def backoff(attempt: int, rng: random.Random) -> None:
    """Full jitter, capped: contention on a hot item clears in milliseconds."""
    time.sleep(rng.uniform(0, min(0.05, 0.002 * 2 ** attempt)))


def get_many(*keys: tuple[type[Model], str]) -> list[Any]:
    """Items from several tables in one round trip (TransactGetItems: strongly
    consistent; None for a missing item). A claim needs its template and its
    store: one request instead of two on the hot path."""
    try:
        with TransactGet(connection=db.connection()) as tg:
            futures = [tg.get(cls, key) for cls, key in keys]
    except TransactGetError:  # a transaction held one of them: read them one by one
        return [_get_or_none(cls, key) for cls, key in keys]
    out: list[Any] = []
    for future in futures:
        try:
            out.append(future.get())
        except DoesNotExist:
            out.append(None)
    return out


def _get_or_none(cls: type[Model], key: str) -> Any:
    try:
        return cls.get(key, consistent_read=True)
    except DoesNotExist:
        return None
