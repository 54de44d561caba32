"""The shared transaction module against DynamoDB Local behind the fault
proxy, with botocore's own retries off so every fault reaches `txn`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chalicelib import counters, retry, txn
from chalicelib.errors import Unavailable
from chalicelib.idempotency import IdempotencyRecord
from chalicelib.stats.models import StoreDayStats
from devtools.fault_proxy import FaultProxy
from tests.conftest import use_environment

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 4, tzinfo=UTC)
LATER = datetime(2099, 1, 1, tzinfo=UTC)  # past expires_at, DynamoDB Local's TTL sweep may delete an item mid-test


@pytest.fixture
def proxy(dynamodb_local: Any, ddb_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(dynamodb_local.endpoint, rate=0.0) as running:
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=running.url, STORELOOP_DDB_MAX_RETRIES="0")
        yield running


def payments_counted() -> int:
    return int(StoreDayStats.get("s1", DAY.isoformat(), consistent_read=True).payments or 0)


def bump_tx() -> txn.Transaction:
    tx = txn.Transaction()
    counters.bump_in(tx, "s1", DAY, payments=1)
    return tx


def test_a_commit_whose_answers_are_lost_is_applied_once_and_reported_done(proxy: FaultProxy) -> None:
    proxy.script("lost", "lost", "error", "drop")
    bump_tx().commit()  # five sends, one token: DynamoDB applied the first, acknowledged the fifth
    assert payments_counted() == 1
    assert proxy.counts["lost:TransactWriteItems"] == 2 and proxy.counts["ok"] >= 1


def test_a_failed_guard_is_refused_with_the_item_as_it_stood(proxy: FaultProxy) -> None:
    first = IdempotencyRecord("r1", status="done", body_hash="h", lease_until=NOW, expires_at=LATER, owner="a")
    first.save()
    tx = txn.Transaction()
    tx.put("record", IdempotencyRecord("r1", status="in_progress", body_hash="h2", lease_until=NOW, expires_at=NOW),
           condition=IdempotencyRecord.record_id.does_not_exist(), old=True)
    counters.bump_in(tx, "s1", DAY, payments=1)
    with pytest.raises(txn.Refused) as refused:
        tx.commit()
    assert refused.value.on("record") and not refused.value.on("stats")
    assert refused.value.old("record").owner == "a"
    with pytest.raises(StoreDayStats.DoesNotExist):  # nothing of the transaction was written
        StoreDayStats.get("s1", DAY.isoformat(), consistent_read=True)


def test_a_conflict_is_contention_not_a_refusal(proxy: FaultProxy) -> None:
    proxy.script("conflict")
    with pytest.raises(txn.Contended):
        bump_tx().commit()
    bump_tx().commit()
    assert payments_counted() == 1


def test_an_unhealthy_database_ends_in_unavailable_within_the_budget(proxy: FaultProxy) -> None:
    proxy.script(*["error"] * 500)
    with retry.budget(0.3), pytest.raises(Unavailable):
        bump_tx().commit()


def test_put_if_absent_hands_back_its_own_lost_write(proxy: FaultProxy) -> None:
    mine = IdempotencyRecord("r2", status="in_progress", body_hash="h", lease_until=NOW, expires_at=LATER, owner="me")
    proxy.script("lost")
    existing = txn.put_if_absent(mine, "record_id")
    assert existing is not None and existing.owner == "me"  # the caller tells it is its own by the token
    assert txn.put_if_absent(IdempotencyRecord("r3", status="x", body_hash="h", lease_until=NOW, expires_at=NOW),
                             "record_id") is None


def record(record_id: str, owner: str) -> IdempotencyRecord:
    return IdempotencyRecord(record_id, status="in_progress", body_hash="h", lease_until=NOW, expires_at=LATER,
                             owner=owner)


def test_commit_each_drops_refused_items_at_once_and_backs_off_only_on_contention(
        proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN r1 exists; WHEN r0, r1, r2 are put (each guarded), with one
    counter ADD per item, and the first send meets a conflict; THEN the
    conflict is waited out once, r1's refusal is re-committed without a
    wait, r0 and r2 commit, and the counter is rebuilt for them only."""
    record("r1", "theirs").save()
    waits: list[int] = []
    real_delay = retry.delay_s

    def delay(attempt: int, *args: float) -> float:
        waits.append(attempt)
        return real_delay(attempt, *args)

    monkeypatch.setattr(retry, "delay_s", delay)
    sends: list[list[str]] = []

    def build(labels: list[str]) -> txn.Transaction:
        sends.append(labels)
        tx = txn.Transaction()
        for label in labels:
            tx.put(label, record(label, "mine"), condition=IdempotencyRecord.record_id.does_not_exist(), old=True)
        counters.bump_in(tx, "s1", DAY, payments=len(labels))
        return tx

    proxy.script("conflict", operation="TransactWriteItems")
    done = txn.commit_each(build, ["r0", "r1", "r2"], what="the test")
    assert done.committed == ["r0", "r2"]
    assert list(done.refused) == ["r1"] and done.refused["r1"].owner == "theirs"
    assert sends == [["r0", "r1", "r2"], ["r0", "r1", "r2"], ["r0", "r2"]]
    assert waits == [1]  # one back-off, for the conflict; none for the refusal
    assert payments_counted() == 2
    assert [IdempotencyRecord.get(r, consistent_read=True).owner for r in ("r0", "r1", "r2")] == \
        ["mine", "theirs", "mine"]


def test_commit_each_re_raises_a_refusal_of_no_listed_item(proxy: FaultProxy) -> None:
    record("r1", "theirs").save()

    def build(labels: list[str]) -> txn.Transaction:
        tx = txn.Transaction()
        for label in labels:
            tx.put(label, record(f"x{label}", "mine"), condition=IdempotencyRecord.record_id.does_not_exist())
        tx.check("shared", IdempotencyRecord, "r1", condition=IdempotencyRecord.record_id.does_not_exist())
        return tx

    with pytest.raises(txn.Refused) as refused:
        txn.commit_each(build, ["a", "b"], what="the test")
    assert refused.value.on("shared")
    with pytest.raises(IdempotencyRecord.DoesNotExist):
        IdempotencyRecord.get("xa", consistent_read=True)


def test_commit_each_with_nothing_to_commit_sends_nothing(proxy: FaultProxy) -> None:
    done = txn.commit_each(lambda labels: pytest.fail("built"), [], what="the test")
    assert done.committed == [] and done.refused == {}
    assert proxy.counts["ok"] == 0
