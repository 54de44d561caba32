"""Insights `apply_due` when the store write commits and its answer never
arrives, on DynamoDB Local: the change is applied once, audited once, and
the clearance slot re-filed, whether the re-send meets our own commit (a
token DynamoDB no longer knows) or the run stops after the commit and the
next run finds the change in effect."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError
from pynamodb.connection.base import Connection

from chalicelib.campaigns.models import SlotIndexRecord
from chalicelib.insights import chain
from chalicelib.insights import policy as policies
from chalicelib.insights.models import StorePolicy
from chalicelib.insights.refresh import run_refresh
from chalicelib.stores.models import StoreRecord
from tests.integration.test_insights_hourly import FIRST, LONDON, LONDON_MIDNIGHT, applied_audit
from tests.integration.test_insights_hourly import chain_stores as chain_stores  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration


class StoppedAfterCommit(Exception):
    """The Lambda timed out (or died) right after DynamoDB committed."""


def writes_store(operation: str, kwargs: dict[str, Any]) -> bool:
    table = StoreRecord.Meta.table_name
    if operation == "UpdateItem":
        return bool(kwargs.get("TableName") == table)
    return operation == "TransactWriteItems" and any(
        item.get("Update", {}).get("TableName") == table for item in kwargs.get("TransactItems", []))


@pytest.fixture
def lose_first_store_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Exception], list[str]]]:
    """Arm: the next write to the stores table commits, then `error` is
    raised instead of its answer. Every later send of the same transaction
    carries a token DynamoDB does not know (its idempotency window has
    passed), so it is judged against our own commit. Returns the log."""
    real = Connection._make_api_call
    log: list[str] = []
    armed: list[Exception] = []
    lost_tokens: set[str] = set()

    def hooked(self: Connection, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if operation == "TransactWriteItems" and kwargs.get("ClientRequestToken") in lost_tokens:
            log.append("re-sent with a forgotten token")
            kwargs = {**kwargs, "ClientRequestToken": f"after-window-{len(log)}"}
        if armed and writes_store(operation, kwargs):
            error = armed.pop()
            answer = real(self, operation, kwargs)  # committed
            log.append(f"{operation} committed, answer lost")
            if "ClientRequestToken" in kwargs:
                lost_tokens.add(kwargs["ClientRequestToken"])
            assert answer is not None
            raise error
        return real(self, operation, kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", hooked)

    def arm(error: Exception) -> list[str]:
        armed.append(error)
        return log

    yield arm


def clearance_at(store_id: str) -> set[str]:
    """The clearance slot's local times in the slot index (an old bucket's
    item stays until the worker drops it)."""
    return {i.at for i in SlotIndexRecord.scan(consistent_read=True)
            if i.store_id == store_id and i.slot == "clearance"}


def assert_applied_once(store_id: str) -> dict[str, int]:
    rows = applied_audit(store_id)
    per_field = {f: sum(1 for a in rows if a.field == f) for f in {a.field for a in rows}}
    assert set(per_field.values()) == {1}, per_field  # each field audited exactly once
    assert {"member_day", "idle_hour"} <= set(per_field)
    store = StoreRecord.get(store_id, consistent_read=True)
    assert (store.member_day, store.idle_hour) == ("FRI", "15:00")
    assert "15:00" in clearance_at(store_id)  # the clearance slot moved with the idle hour
    assert not (StorePolicy.get(store_id, consistent_read=True).pending or {})
    return per_field


def test_a_lost_answer_whose_re_send_meets_our_own_commit_is_applied_audited_and_re_filed_once(
        chain_stores: list[str], lose_first_store_write: Callable[[Exception], list[str]]) -> None:
    assert run_refresh(FIRST, 8).errors == 0  # London's change is scheduled for its Monday
    assert clearance_at(LONDON) == {"16:00"}
    log = lose_first_store_write(ConnectionClosedError(endpoint_url="http://dynamodb-local"))
    london = run_refresh(LONDON_MIDNIGHT, 8)
    assert (london.errors, london.stores) == (0, 1)
    per_field = assert_applied_once(LONDON)
    assert london.applied == len(per_field)  # the lost one counted as ours
    assert log[:2] == ["TransactWriteItems committed, answer lost", "re-sent with a forgotten token"]
    again = run_refresh(LONDON_MIDNIGHT + timedelta(minutes=2), 8)  # a redelivered trigger
    assert (again.stores, again.applied) == (0, 0) and assert_applied_once(LONDON) == per_field


def test_a_run_stopped_right_after_its_commit_leaves_the_next_run_to_re_file_without_a_second_audit(
        chain_stores: list[str], lose_first_store_write: Callable[[Exception], list[str]]) -> None:
    assert run_refresh(FIRST, 8).errors == 0
    lose_first_store_write(StoppedAfterCommit("stopped right after the commit"))
    stopped = run_refresh(LONDON_MIDNIGHT, 8)
    assert stopped.errors == 1 and chain.read_zones(["Europe/London"])["Europe/London"].retry == (LONDON,)
    assert StoreRecord.get(LONDON, consistent_read=True).idle_hour == "15:00"  # committed (first field)...
    assert "15:00" not in clearance_at(LONDON)  # ...and not re-filed
    assert [a.field for a in applied_audit(LONDON)] == ["idle_hour"]  # audited with the commit
    retried = run_refresh(LONDON_MIDNIGHT + timedelta(hours=1), 8)  # the store is retried alone
    assert (retried.errors, retried.stores) == (0, 1)
    per_field = assert_applied_once(LONDON)
    assert retried.applied == len(per_field) - 1  # the rest; idle_hour was the stopped run's


def test_a_run_that_read_before_another_applied_the_change_neither_audits_nor_keeps_it_pending(
        chain_stores: list[str]) -> None:
    """Two runs' interleaving made exact: both read the store and the policy,
    one applies; the other's write is refused by it. It counts nothing,
    audits nothing, re-files (harmless, by version) and drops the change
    from pending (last session: left shown as pending until the next day)."""
    assert run_refresh(FIRST, 8).errors == 0
    reads = [(StoreRecord.get(LONDON, consistent_read=True), policies.read(LONDON)) for _ in range(2)]
    first = policies.apply_due(*reads[0], LONDON_MIDNIGHT)
    assert {"member_day", "idle_hour"} <= set(first.fields) and first.refile
    second = policies.apply_due(*reads[1], LONDON_MIDNIGHT)
    assert (second.fields, second.refile) == ([], True)
    store, policy = reads[1]
    assert not (policy.pending or {}) and (store.member_day, store.idle_hour) == ("FRI", "15:00")
    assert store.updated_at == LONDON_MIDNIGHT  # follows the store as it stands (for the re-file)
    assert sorted(a.field for a in applied_audit(LONDON)) == sorted(first.fields)


def test_an_apply_cancelled_by_a_transaction_conflict_is_tried_again_not_failed(
        chain_stores: list[str], dynamodb_local: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools.fault_proxy import FaultProxy
    from tests.conftest import use_environment

    assert run_refresh(FIRST, 8).errors == 0
    with FaultProxy(dynamodb_local.endpoint, rate=0.0) as proxy:
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=proxy.url, STORELOOP_DDB_MAX_RETRIES="0")
        proxy.script("conflict", operation="TransactWriteItems")  # the first apply: nothing written
        london = run_refresh(LONDON_MIDNIGHT, 8)
        assert proxy.counts["conflict:TransactWriteItems"] == 1
    assert (london.errors, london.stores) == (0, 1)
    assert london.applied == len(assert_applied_once(LONDON))


def test_the_re_file_after_an_apply_reads_the_store_as_it_stands_not_the_runs_copy(
        chain_stores: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A save just before the run's `now` that the run's (eventually
    consistent) read missed: the apply passes it (`updated_at <= now`) and
    stamps the newer version, so the slots must be filed from the store
    with that save in it, not from the run's copy."""
    from chalicelib.insights import refresh

    assert run_refresh(FIRST, 8).errors == 0
    real_apply = policies.apply_due

    def after_a_missed_save(store: StoreRecord, policy: StorePolicy, now: Any) -> Any:
        if store.store_id == LONDON:  # the run's copy is read; a save lands just before `now`
            StoreRecord(LONDON).update(actions=[StoreRecord.name.set("Soho, renamed"),
                                                StoreRecord.updated_at.set(now - timedelta(seconds=1))])
        return real_apply(store, policy, now)

    filed: list[tuple[str, str]] = []
    real_reindex = refresh.reindex_stores

    def record(stores: list[StoreRecord], now: Any) -> int:
        filed.extend((s.store_id, s.name) for s in stores)
        return real_reindex(stores, now)

    monkeypatch.setattr(policies, "apply_due", after_a_missed_save)
    monkeypatch.setattr(refresh, "reindex_stores", record)
    assert run_refresh(LONDON_MIDNIGHT, 8).errors == 0
    assert filed == [(LONDON, "Soho, renamed")]
    assert_applied_once(LONDON)
