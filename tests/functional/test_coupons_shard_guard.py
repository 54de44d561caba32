"""The claim's version guard on the stock shard (moto, in-process): every
template save carries the template's version and status to all its shards
in one transaction, a claim never puts the template item in its
transaction when the template has stock, and a stale per-container cache
is refused by the shard and refreshed (pause, resume, edit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.clock import FixedClock
from chalicelib.coupons import shards, terms
from chalicelib.coupons.models import StockShard, TemplateRecord
from chalicelib.txn import Transaction
from tests.api import Api
from tests.functional.test_coupons_api import clock, create, member, put_store  # noqa: F401 - fixtures


@pytest.fixture
def shop(api: Api, admin: str, clock: FixedClock) -> Api:  # noqa: F811 - the clock fixture
    put_store(api, admin, "S1")
    return api


@pytest.fixture
def claim_items(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[tuple[str, str]]]]:
    """Every committed-or-tried claim transaction as (label, table) pairs."""
    seen: list[list[tuple[str, str]]] = []
    original = Transaction._send

    def spy(self: Transaction) -> None:
        seen.append([(item.label, item.model_cls.__name__) for item in self._items])
        original(self)

    monkeypatch.setattr(Transaction, "_send", spy)
    yield seen


def shard_items(tid: str) -> list[StockShard]:
    record = TemplateRecord.get(tid, consistent_read=True)
    if not record.shard_keys:
        return list(StockShard.query(tid, consistent_read=True))
    return list(StockShard.batch_get([(f"{tid}#{k}", k) for k in range(int(record.stock_shards))],
                                     consistent_read=True))


def shard_state(tid: str) -> set[tuple[int | None, str | None]]:
    return {(None if s.tpl_version is None else int(s.tpl_version), s.tpl_status) for s in shard_items(tid)}


def claim(api: Api, tid: str, who: str) -> Any:
    return api.post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, as_=member(who))


def test_every_save_gives_every_shard_the_version_and_status(shop: Api, admin: str) -> None:
    tid = create(shop, admin, total_stock=30, stock_shards=3)
    assert shard_state(tid) == {(1, "active")} and len(shard_items(tid)) == 3
    assert not list(StockShard.query(tid)), "each shard is its own partition key, none under the template's id"
    assert shop.post(f"/coupon-templates/{tid}/pause", as_=admin).body["version"] == 2
    assert shard_state(tid) == {(2, "paused")}
    assert shop.post(f"/coupon-templates/{tid}/resume", as_=admin).status == 200
    assert shard_state(tid) == {(3, "active")}
    patched = shop.call("PATCH", f"/coupon-templates/{tid}", {"value": 800}, as_=admin)
    assert patched.status == 200 and patched.body["version"] == 4
    assert shard_state(tid) == {(4, "active")}
    body = shop.get(f"/coupon-templates/{tid}", as_=admin).body
    assert shop.put(f"/coupon-templates/{tid}", body, as_=admin).status == 200
    assert shard_state(tid) == {(5, "active")}
    assert shop.post(f"/coupon-templates/{tid}/end", as_=admin).status == 200
    assert shard_state(tid) == {(6, "ended")}
    assert int(TemplateRecord.get(tid).version) == 6


def test_a_claim_on_stock_does_not_touch_the_template_item(shop: Api, admin: str,
                                                           claim_items: list[list[tuple[str, str]]]) -> None:
    limited = create(shop, admin, total_stock=10, stock_shards=2)
    unlimited = create(shop, admin)
    claim_items.clear()
    assert claim(shop, limited, "a").status == 201
    [items] = claim_items
    assert [table for _, table in items].count("TemplateRecord") == 0
    assert sorted(label for label, _ in items) == ["coupon", "limit", "short_code", "stats", "stock", "store"]
    claim_items.clear()
    assert claim(shop, unlimited, "a").status == 201  # no shard to carry the guard: the template is checked
    [items] = claim_items
    assert ("template", "TemplateRecord") in items and len(items) == 6


def test_a_stale_cache_is_refused_by_the_shard_and_refreshed(shop: Api, admin: str,
                                                            claim_items: list[list[tuple[str, str]]]) -> None:
    tid = create(shop, admin, total_stock=10, stock_shards=2, value=500)
    assert claim(shop, tid, "first").status == 201  # this container now caches v1, active
    assert shop.post(f"/coupon-templates/{tid}/pause", as_=admin).status == 200
    assert int(terms.template(tid).version) == 1, "the cache should still hold v1 (no eviction in-process)"
    claim_items.clear()
    paused = claim(shop, tid, "second")
    assert paused.status == 409 and paused.error_code == "template_paused"
    assert ("stock", "StockShard") in claim_items[0], "the stale v1 claim went to the shard and was refused there"
    assert terms.template(tid).status == "paused"  # refreshed
    assert shop.post(f"/coupon-templates/{tid}/resume", as_=admin).status == 200  # cache: v2 paused (stale)
    resumed = claim(shop, tid, "third")
    assert resumed.status == 201, resumed.body  # a resumed template is not refused from a stale cache
    assert shop.call("PATCH", f"/coupon-templates/{tid}", {"value": 700}, as_=admin).status == 200
    edited = claim(shop, tid, "fourth")  # cache: v3, value 500: the shard refuses it; issued on v4's terms
    assert edited.status == 201 and edited.body["value"] == 700
    assert shop.get(f"/coupon-templates/{tid}", as_=admin).body["remaining"] == 7


def test_sold_out_is_still_told_apart_from_a_stale_version(shop: Api, admin: str) -> None:
    tid = create(shop, admin, total_stock=2, stock_shards=2)
    assert [claim(shop, tid, f"m{i}").status for i in range(2)] == [201, 201]
    out = claim(shop, tid, "late")
    assert out.status == 409 and out.error_code == "sold_out"
    assert shop.call("PATCH", f"/coupon-templates/{tid}", {"title": "改"}, as_=admin).status == 200
    terms.clear()
    again = claim(shop, tid, "later")
    assert again.status == 409 and again.error_code == "sold_out"


def test_a_template_saved_before_shards_carried_the_version_claims_and_migrates(
        shop: Api, admin: str, claim_items: list[list[tuple[str, str]]]) -> None:
    tid = create(shop, admin, total_stock=10, stock_shards=2)
    for s in shard_items(tid):  # as written by the code before this change: under the template's id, no version
        StockShard(tid, int(s.shard), remaining=int(s.remaining), initial=int(s.initial)).save()
        s.delete()
    TemplateRecord.get(tid).update(actions=[TemplateRecord.shard_guard.remove(), TemplateRecord.shard_keys.remove()])
    terms.clear()
    claim_items.clear()
    assert claim(shop, tid, "a").status == 201
    assert ("template", "TemplateRecord") in claim_items[0]  # guarded the old way
    assert shop.post(f"/coupon-templates/{tid}/pause", as_=admin).status == 200
    assert shard_state(tid) == {(3, "paused")} and TemplateRecord.get(tid).shard_guard == 1
    assert shop.post(f"/coupon-templates/{tid}/resume", as_=admin).status == 200
    claim_items.clear()
    assert claim(shop, tid, "b").status == 201  # cache v1 (old way) -> refused on the template -> v4, on shards
    assert all(("template", "TemplateRecord") not in items for items in claim_items[1:])
    assert ("template", "TemplateRecord") in claim_items[0]


def test_shard_count_fits_one_transaction(shop: Api, admin: str) -> None:
    too_many = shop.post("/coupon-templates", {
        "title": "x", "kind": "amount_off", "value": 100, "claim_start": "2026-11-01T00:00:00+08:00",
        "claim_end": "2026-12-01T00:00:00+08:00", "valid_days": 7, "total_stock": 1000, "stock_shards": 100},
        as_=admin)
    assert too_many.status == 400 and too_many.body["error"]["details"][0]["field"] == "stock_shards"
    tid = create(shop, admin, total_stock=1000, stock_shards=shards.MAX_SHARDS)  # 99 shards + the template
    assert shop.post(f"/coupon-templates/{tid}/pause", as_=admin).status == 200  # one 100-item transaction
    assert shard_state(tid) == {(2, "paused")} and len(shard_items(tid)) == 99
    assert shards.check_fits(shards.MAX_SHARDS) == shards.TRANSACTION_ITEMS
    with pytest.raises(ValueError):
        shards.check_fits(shards.MAX_SHARDS + 1)


def test_a_template_written_without_its_shards_is_repaired_by_the_next_claim(shop: Api, admin: str) -> None:
    tid = create(shop, admin, total_stock=10, stock_shards=3)
    assert claim(shop, tid, "a").status == 201
    TemplateRecord.get(tid).update(actions=[TemplateRecord.title.set("改名")])  # a script: v2, shards still at v1
    terms.clear()
    later = claim(shop, tid, "b")  # the shard is behind the template: re-stamped, then the claim goes through
    assert later.status == 201 and later.body["title"] == "改名"
    assert shard_state(tid) == {(2, "active")}


def test_a_limit_raised_since_the_cache_is_honoured_not_refused_on_the_old_one(shop: Api, admin: str) -> None:
    tid = create(shop, admin, total_stock=10, stock_shards=2, per_member_limit=1)
    assert claim(shop, tid, "a").status == 201  # cached: v1, limit 1
    assert shop.call("PATCH", f"/coupon-templates/{tid}", {"per_member_limit": 2}, as_=admin).status == 200
    second = claim(shop, tid, "a")  # the limit AND the shard refuse the stale attempt: stale terms win
    assert second.status == 201, second.body
    third = claim(shop, tid, "a")
    assert third.status == 409 and third.error_code == "limit_reached"
