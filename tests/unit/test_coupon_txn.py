"""The labelled transaction maps DynamoDB's positional cancellation reasons
(condition checks, deletes, puts, updates, in that order) to our labels."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from chalicelib.coupons.models import ClaimCount, StockShard
from chalicelib.coupons.txn import LabeledTransaction, is_contention


def _exc(*codes: str | None, cause: str = "TransactionCanceledException") -> Any:
    reasons = [None if c is None else SimpleNamespace(code=c) for c in codes]
    return SimpleNamespace(cancellation_reasons=reasons, cause_response_code=cause)


def _claim_tx() -> LabeledTransaction:
    tx = LabeledTransaction()
    # added out of DynamoDB's order on purpose: updates first, then a put
    tx.update("stock", StockShard("t", 0), [StockShard.remaining.add(-1)], StockShard.remaining > 0)
    tx.update("limit", ClaimCount("m", "t"), [ClaimCount.claimed.add(1)], ClaimCount.claimed < 2)
    tx.bump("S1", date(2026, 11, 20), coupons_claimed=1)
    tx.put("coupon", ClaimCount("m", "other"), ClaimCount.claimed.does_not_exist())  # any complete item
    return tx


def test_reasons_follow_dynamodbs_item_order() -> None:
    tx = _claim_tx()
    assert tx.reasons(_exc(None, "ConditionalCheckFailed", None, None)) == {"stock": "ConditionalCheckFailed"}
    assert tx.reasons(_exc(None, "None", "ConditionalCheckFailed", None)) == {"limit": "ConditionalCheckFailed"}
    assert tx.reasons(_exc("ConditionalCheckFailed", None, None, None)) == {"coupon": "ConditionalCheckFailed"}


def test_conflicts_are_contention_and_conditions_are_not() -> None:
    tx = _claim_tx()
    conflict = _exc(None, None, None, "TransactionConflict")
    assert is_contention(conflict, tx.reasons(conflict))
    refused = _exc(None, "ConditionalCheckFailed", None, None)
    assert not is_contention(refused, tx.reasons(refused))
    throttled = _exc(cause="ThrottlingException")
    assert is_contention(throttled, {})
