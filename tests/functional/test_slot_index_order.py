"""Two saves of one store whose slot re-files land out of order: the index
ends with the newest store version's items (campaigns/schedule.reindex)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.campaigns import schedule, store_config
from chalicelib.campaigns.models import SlotIndexRecord
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.schemas import StoreIn
from tests.api import Api

V1 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
V2 = V1 + timedelta(seconds=1)
# noon in New York in winter (EST) and noon in Chicago in summer (CDT) are
# both 17:00 UTC: the index files each under bucket "1020", key "s1#noon"
NEW_YORK = "America/New_York"
CHICAGO = "America/Chicago"


def store(tz: str) -> StoreIn:
    return StoreIn(name="一号店", city="上海市", lat=31.3, lng=121.5, timezone=tz)


def items(store_id: str) -> dict[tuple[str, str], SlotIndexRecord]:
    return {(i.bucket, i.key): i for i in SlotIndexRecord.scan() if i.store_id == store_id}


def test_a_late_refile_of_an_older_save_does_not_replace_the_newer_saves_items(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN save A (New York) is past its store write and about to file its slots
    a_wrote_store, b_done = threading.Event(), threading.Event()
    real = store_config.reindex_stores

    def a_waits(records: list[StoreRecord], now: datetime) -> int:
        if records[0].timezone == NEW_YORK:
            a_wrote_store.set()
            assert b_done.wait(10)
        return real(records, now)

    monkeypatch.setattr(store_config, "reindex_stores", a_waits)
    errors: list[BaseException] = []

    def save_a() -> None:
        try:
            store_config.save_store("s1", store(NEW_YORK), V1)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    a = threading.Thread(target=save_a)
    a.start()
    assert a_wrote_store.wait(10)
    # WHEN save B (Chicago, the newer version) writes the store and files its slots, then A files
    store_config.save_store("s1", store(CHICAGO), V2)
    b_done.set()
    a.join(10)
    assert not errors

    # THEN the store is B's, and every item under a key both saves file is B's
    assert StoreRecord.get("s1").timezone == CHICAGO
    filed = items("s1")
    chicago = {(i.bucket, i.key) for i in schedule.index_items(StoreRecord.get("s1"),
                                                                 schedule.store_plan(StoreRecord.get("s1"), None), V2)}
    assert ("1020", "s1#noon") in chicago  # the key both saves file
    for key in chicago:
        assert filed[key].timezone == CHICAGO, key
        assert filed[key].store_version == schedule.store_version(StoreRecord.get("s1"))


def test_an_older_save_arriving_late_does_not_replace_the_store(api: Api) -> None:
    store_config.save_store("s2", store(CHICAGO), V2)
    store_config.save_store("s2", store(NEW_YORK), V1)  # superseded: answered, not stored
    assert StoreRecord.get("s2").timezone == CHICAGO
    assert {i.timezone for k, i in items("s2").items()
            if k in {(j.bucket, j.key) for j in schedule.index_items(
                StoreRecord.get("s2"), schedule.store_plan(StoreRecord.get("s2"), None), V2)}} == {CHICAGO}


def test_hours_saved_late_with_an_older_version_do_not_replace_a_newer_save(api: Api) -> None:
    store_config.save_store("s4", store(CHICAGO), V2)
    saved = store_config.save_hours("s4", {"MON": ["09:00-18:00"]}, None, V1)  # superseded
    assert saved.hours is None and saved.updated_at == V2
    assert StoreRecord.get("s4").hours is None


def test_a_same_version_refile_replaces_and_a_bulk_keeps_each_stores_newest(api: Api) -> None:
    # a slot plan change re-files at the store's own version: it must land
    store_config.save_store("s3", store(CHICAGO), V2)
    record = StoreRecord.get("s3")
    schedule.save_plan("s3", [schedule.SlotSpec("only", "09:00", "poster")], V2)
    schedule.reindex_stores([record], V2)
    assert {i.slot for i in items("s3").values()} >= {"only"}
    # a bulk naming one store twice files its newest version only (one action per key)
    older: Any = StoreRecord.get("s3")
    older.updated_at = V1
    older.timezone = NEW_YORK
    # (two puts of one key in a transaction would be a ValidationException)
    assert schedule.reindex([(record, None), (older, None)], V2) > 0
    assert items("s3")[("1020", "s3#noon")].timezone == CHICAGO


def test_a_bulk_import_older_than_a_single_save_leaves_that_store_and_writes_the_rest(api: Api) -> None:
    # GIVEN an operator saved s5 (Chicago) a moment after an HQ import was stamped
    store_config.save_store("s5", store(CHICAGO), V2)
    # WHEN the import (stamped V1, New York for both rows) lands late
    store_config.save_stores([("s5", store(NEW_YORK)), ("s6", store(NEW_YORK))], V1)
    # THEN s5 keeps the newer save, store and slots alike; s6 is imported
    assert StoreRecord.get("s5").timezone == CHICAGO and StoreRecord.get("s5").updated_at == V2
    assert items("s5")[("1020", "s5#noon")].timezone == CHICAGO
    assert StoreRecord.get("s6").timezone == NEW_YORK
    # and a repeat of the same import (a retried request) converges, changing nothing
    store_config.save_stores([("s5", store(NEW_YORK)), ("s6", store(NEW_YORK))], V1)
    assert StoreRecord.get("s5").timezone == CHICAGO and StoreRecord.get("s6").updated_at == V1
