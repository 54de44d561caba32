"""`cli backfill-lists` on DynamoDB Local: stores and templates saved before
the list indexes (no `list_key`) appear in `GET /stores` and
`GET /coupon-templates` afterwards; a second run changes nothing; a store
saved between the Scan and the update keeps what its save wrote."""

from __future__ import annotations

import pytest

from chalicelib.cli import main
from chalicelib.cli.backfill import backfill_stores, backfill_templates, fill_store
from chalicelib.coupons.models import TemplateRecord
from chalicelib.stores.models import StoreRecord
from tests.api import Api
from tests.integration.test_console_api import all_pages, store, template

pytestmark = [pytest.mark.integration]


def as_before_the_indexes(model: type, key: str, *names: str) -> None:
    """Remove the list attributes, as on an item written by an older release
    (low-level, so nothing else about the item changes)."""
    model._get_connection().update_item(key, actions=[getattr(model, n).remove() for n in names])


def test_backfill_files_old_items_into_the_lists_once(api: Api, admin: str, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(5):
        store(api, admin, f"B{i}", city="上海" if i % 2 else "杭州")
    old_stores = ["B1", "B2", "B4"]
    for sid in old_stores:
        as_before_the_indexes(StoreRecord, sid, "list_key", "city_key")
    tids = [template(api, admin, title=f"券{i}")["template_id"] for i in range(3)]
    as_before_the_indexes(TemplateRecord, tids[0], "list_key", "created_key", "status")
    as_before_the_indexes(TemplateRecord, tids[2], "list_key", "created_key")
    etag = api.get(f"/coupon-templates/{tids[0]}", as_=admin).headers["ETag"]
    store_etag = api.get("/stores/B1", as_=admin).headers["ETag"]

    listed = {s["store_id"] for s in all_pages(api, "/stores?limit=2", "stores", admin)}
    assert listed == {"B0", "B3"}  # the old ones are invisible to the list
    assert {t["template_id"] for t in all_pages(api, "/coupon-templates", "templates", admin)} == {tids[1]}

    assert main(["backfill-lists", "--dry-run"]) == 0
    assert "stores: 3 without list keys, would update 3" in capsys.readouterr().out
    assert {s["store_id"] for s in all_pages(api, "/stores", "stores", admin)} == {"B0", "B3"}

    assert main(["backfill-lists"]) == 0
    out = capsys.readouterr().out
    assert "stores: 3 without list keys, updated 3" in out and "coupon templates: 2 without list keys, updated 2" in out
    assert [s["store_id"] for s in all_pages(api, "/stores?limit=2", "stores", admin)] == \
        ["B1", "B3", "B0", "B2", "B4"]  # by city (上海 < 杭州 as UTF-8) then id, as a fresh save files them
    assert [s["store_id"] for s in all_pages(api, "/stores?city=上海", "stores", admin)] == ["B1", "B3"]
    templates = all_pages(api, "/coupon-templates?status=active", "templates", admin)
    assert sorted(t["template_id"] for t in templates) == sorted(tids)
    seconds = [t["created_at"][:19] for t in templates]  # the index key is to the second
    assert seconds == sorted(seconds, reverse=True)  # newest first
    # the edit tags did not move: an operator's open edit form still saves
    assert api.get(f"/coupon-templates/{tids[0]}", as_=admin).headers["ETag"] == etag
    assert api.get("/stores/B1", as_=admin).headers["ETag"] == store_etag

    assert main(["backfill-lists"]) == 0  # idempotent
    assert "stores: 0 without list keys, updated 0" in capsys.readouterr().out
    assert backfill_templates().scanned == 0


def test_a_save_between_the_scan_and_the_update_wins(api: Api, admin: str) -> None:
    store(api, admin, "R1", city="杭州")
    as_before_the_indexes(StoreRecord, "R1", "list_key", "city_key")
    stale = StoreRecord.get("R1", consistent_read=True)  # what the Scan read
    store(api, admin, "R1", city="上海")  # an operator saves it meanwhile: keys written by the save
    assert fill_store(stale) is False
    assert StoreRecord.get("R1", consistent_read=True).city_key == "上海#R1"
    assert backfill_stores().scanned == 0
    assert [s["store_id"] for s in all_pages(api, "/stores?city=上海", "stores", admin)] == ["R1"]
