"""What a due post reads, counted exactly (moto): DynamoDB items read per
due post through the tick and its workers, counted by a botocore event hook
on the shared client (as bench/tick.py's ReadMeter does). Counts, not timings.

A due post at a store with the default plan and one group reads 3 items:
its slot index item (the tick's bucket Query), its store (a BatchGetItem
per worker's batch of stores, which also asks for each store's own plan)
and its group (a BatchGetItem of the batch's groups by key). The
chain-wide offers (the "all" bucket's entries and their templates) are read
once per tick, whatever the number of stores."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import db
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.posts import for_day
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.record import RecordChannel
from chalicelib.groups.models import GroupRecord
from tests.api import Api
from tests.functional.test_stores_api import SHOP

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=SH)  # a Friday: SHOP's member day
TEA = datetime(2026, 11, 20, 15, 0, tzinfo=SH)
CHAIN_WIDE = {"title": "早安拿铁立减3元", "kind": "amount_off", "value": 300,
              "claim_start": "2026-11-01T00:00:00+08:00", "claim_end": "2026-12-01T00:00:00+08:00",
              "valid_days": 7}



@pytest.fixture(autouse=True)
def listed(api: Api) -> None:
    """A stack made by this version: its groups listing is complete (the
    marker `cli create-tables` writes with a new groups table)."""
    from chalicelib.groups.directory import mark_listing_complete

    mark_listing_complete()

class ItemMeter:
    """Items read (Query/Scan ScannedCount, GetItem, BatchGetItem responses) and requests by kind."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        op = model.name
        read = 0
        if op in ("Query", "Scan"):
            read = int(parsed.get("ScannedCount", 0))
        elif op == "GetItem":
            read = 1 if parsed.get("Item") else 0
        elif op == "BatchGetItem":
            read = sum(len(v) for v in parsed.get("Responses", {}).values())
        with self.lock:
            self.items[op] += read
            self.requests[op] += 1

    @property
    def total(self) -> int:
        return sum(self.items.values())


@pytest.fixture
def meter(api: Api) -> Iterator[ItemMeter]:
    counting = ItemMeter()
    events = db.connection().client.meta.events
    events.register("after-call.dynamodb", counting)
    yield counting
    events.unregister("after-call.dynamodb", counting)


def _stores(api: Api, admin: str, ids: list[str]) -> None:
    for store_id in ids:
        assert api.put(f"/stores/{store_id}", SHOP, as_=admin).status == 200
        # as a join creates it: group 1 lists the store's other groups (none)
        GroupRecord(store_id, 1, group_id=f"{store_id}.1", capacity=200, member_count=50,
                    created_at=NOON - timedelta(days=1), listed=1).save()


def _noon_tick(workers: int = 4) -> Any:
    set_clock(FixedClock(NOON))
    advance_watermark(NOON - timedelta(minutes=5))  # only the noon slot is due
    return run_tick(NOON, InProcessQueue(NOON, RecordChannel(), workers=workers))


def test_a_due_post_reads_three_items_and_the_chain_wide_offers_once_per_tick(
        api: Api, admin: str, meter: ItemMeter) -> None:
    ids = [f"r{i}" for i in range(6)]
    _stores(api, admin, ids)
    assert api.post("/coupon-templates", CHAIN_WIDE, as_=admin).status == 201
    set_clock(FixedClock(NOON))
    meter.items.clear()
    meter.requests.clear()
    summary = _noon_tick()
    assert summary.outcome["posted"] == 6 and summary.due == 6
    posts = len(ids)
    # per post: slot index item (Query) + store (BatchGetItem) + group (BatchGetItem, by key) = 3;
    # per tick: the watermark (GetItem), the "all" bucket's entry (Query) and its template (BatchGetItem)
    assert meter.items == Counter({"Query": posts + 1, "BatchGetItem": 2 * posts + 1, "GetItem": 1})
    assert meter.total == 3 * posts + 3
    # stores + plans, and the stores' groups 1: two BatchGetItems per worker's batch (4 workers, 6 stores:
    # batches of 2); then one for the templates and one for the ledger filter
    assert meter.requests["BatchGetItem"] == 3 * 2 + 2
    # the tick's 5 one-minute schedule buckets, 8 outbox shards, 4 shared coupon buckets; no group Query
    assert meter.requests["Query"] == 5 + 8 + 4
    assert meter.requests["GetItem"] == 1  # the watermark; no per-post GetItem left
    noon = for_day("r0", NOON.date())[0]
    assert "早安拿铁立减3元" in (noon.body or "") and noon.group_ids == ["r0.1"]


def test_a_store_with_its_own_plan_reads_that_plan_in_the_same_request(
        api: Api, admin: str, meter: ItemMeter) -> None:
    _stores(api, admin, ["p1", "p2"])
    # the same noon slot (its index item is rewritten in place, no stale one left behind), no others
    plan = {"slots": [{"slot": "noon", "at": "12:00", "kind": "flash_coupon"}]}
    assert api.put("/stores/p2/slots", plan, as_=admin).status == 200
    meter.items.clear()
    meter.requests.clear()
    summary = _noon_tick(workers=1)
    assert summary.outcome["posted"] == 2
    # p1: slot item + store + group = 3; p2: the same + its plan item (in the same BatchGetItem) = 4;
    # per tick: the watermark (no template is live: the catalogue reads nothing)
    assert meter.total == 3 + 4 + 1
    # both stores with their plans, their groups, the ledger filter; no templates
    assert meter.requests["BatchGetItem"] == 1 + 1 + 1
    assert [p.slot for p in for_day("p2", NOON.date())] == ["noon"]


def test_offers_are_read_again_by_the_next_tick(api: Api, admin: str) -> None:
    """The catalogue is one tick's snapshot: a template created after the noon
    tick shows in the 15:00 posts; an ended one is gone from them."""
    _stores(api, admin, ["n1"])
    ending = {**CHAIN_WIDE, "title": "午间限定", "claim_end": "2026-11-20T13:00:00+08:00"}
    assert api.post("/coupon-templates", ending, as_=admin).status == 201
    assert _noon_tick().outcome["posted"] == 1
    later = {**CHAIN_WIDE, "title": "下午茶第二杯半价"}
    set_clock(FixedClock(NOON + timedelta(minutes=1)))
    assert api.post("/coupon-templates", later, as_=admin).status == 201
    set_clock(FixedClock(TEA))
    assert run_tick(TEA, InProcessQueue(TEA, RecordChannel(), workers=1)).outcome["posted"] == 1
    by_slot = {p.slot: p.body or "" for p in for_day("n1", NOON.date())}
    assert "午间限定" in by_slot["noon"] and "下午茶第二杯半价" not in by_slot["noon"]
    assert "下午茶第二杯半价" in by_slot["tea"] and "午间限定" not in by_slot["tea"]


def test_a_limited_coupons_stock_is_read_once_per_tick_not_per_post(api: Api, admin: str, meter: ItemMeter) -> None:
    ids = [f"f{i}" for i in range(4)]
    _stores(api, admin, ids)
    flash = {**CHAIN_WIDE, "title": "午间闪券", "total_stock": 120, "stock_shards": 3}
    assert api.post("/coupon-templates", flash, as_=admin).status == 201
    meter.items.clear()
    meter.requests.clear()
    summary = _noon_tick()
    assert summary.outcome["posted"] == 4
    # 3 per post; per tick: the watermark, the index entry, the template and its 3 stock shards
    assert meter.total == 3 * len(ids) + 1 + 1 + 1 + 3
    for store_id in ids:
        body = for_day(store_id, NOON.date())[0].body or ""
        assert "午间闪券" in body and "剩120份" in body


def test_a_due_post_costs_no_request_of_its_own_and_a_batch_five(api: Api, admin: str,
                                                                 meter: ItemMeter) -> None:
    """Requests, not just items: no request per due post (its group is read
    by key with the batch's; its store's own coupon bucket is not queried:
    the store has no own-offers mark, read with the store); per worker's
    batch (here one worker, one batch of 10) one BatchGetItem of stores and
    plans, one BatchGetItem of their groups 1, one TransactWriteItems creating
    the 10 posts, one BatchWriteItem of the record channel's 10 messages and
    one TransactWriteItems marking the posts sent."""
    ids = [f"q{i}" for i in range(10)]
    _stores(api, admin, ids)
    assert api.post("/coupon-templates", CHAIN_WIDE, as_=admin).status == 201
    set_clock(FixedClock(NOON))
    meter.items.clear()
    meter.requests.clear()
    summary = _noon_tick(workers=1)
    posts = len(ids)
    assert summary.outcome["posted"] == posts
    assert meter.requests["TransactWriteItems"] == 2  # the batch's creates; its sent transitions
    assert meter.requests["PutItem"] == 0  # no per-post create, no per-message put
    # the test setting the watermark (UpdateItem); the tick's own: the watermark read and advance,
    # 5 one-minute schedule buckets + 8 outbox shards
    # (Queries), the ledger filter (a BatchGetItem); the chain-wide catalogue once per tick: the shared
    # scope buckets (4 Queries) and their one template (BatchGetItem)
    per_tick = {"GetItem": 1, "UpdateItem": 1 + 1, "Query": 5 + 8 + 4, "BatchGetItem": 1 + 1}
    # per post nothing of its own: its group read by key with the batch's, its store's own bucket
    # skipped (no own-offers mark)
    per_batch = {"BatchGetItem": 2, "TransactWriteItems": 2, "BatchWriteItem": 1}
    expected = Counter(per_tick)
    expected.update(per_batch)
    assert meter.requests == expected
    assert sum(meter.requests.values()) == 27  # 22 per tick + 5 per batch, none per due post
    assert all(p.status == "sent" for store_id in ids for p in for_day(store_id, NOON.date()))


def test_store_scoped_offers_reach_exactly_their_stores_and_a_pause_drops_them_next_tick(
        api: Api, admin: str, meter: ItemMeter) -> None:
    """An HQ template scoped to two stores by id: only those two stores'
    posts carry it, and only their own coupon buckets are queried (the
    own-offers mark read with the store; the others have none). Paused
    after the noon tick, it is gone from the 15:00 posts."""
    ids = ["o0", "o1", "o2", "o3"]
    _stores(api, admin, ids)
    scoped = {**CHAIN_WIDE, "title": "本店专享第二杯半价", "scope": {"store_ids": ["o1", "o2"]}}
    made = api.post("/coupon-templates", scoped, as_=admin)
    assert made.status == 201
    meter.items.clear()
    meter.requests.clear()
    assert _noon_tick(workers=1).outcome["posted"] == 4
    # per tick the 4 shared buckets; the own buckets of o1 and o2 only (2); no group Query
    assert meter.requests["Query"] == 5 + 8 + 4 + 2
    # stores+plans+marks, their groups, the ledger filter, and o1's and o2's own template (one each);
    # no shared template
    assert meter.requests["BatchGetItem"] == 1 + 1 + 1 + 2
    noon = {s: for_day(s, NOON.date())[0].body or "" for s in ids}
    assert ["本店专享第二杯半价" in noon[s] for s in ids] == [False, True, True, False]
    set_clock(FixedClock(NOON + timedelta(minutes=30)))
    assert api.post(f"/coupon-templates/{made.body['template_id']}/pause", {}, as_=admin).status == 200
    set_clock(FixedClock(TEA))
    assert run_tick(TEA, InProcessQueue(TEA, RecordChannel(), workers=1)).outcome["posted"] == 4
    tea = {p.slot: p.body or "" for s in ids for p in for_day(s, NOON.date()) if p.slot == "tea" and s == "o1"}
    assert "本店专享第二杯半价" not in tea["tea"]


def test_a_store_scoped_template_saved_before_the_mark_is_found_after_the_backfill(
        api: Api, admin: str) -> None:
    """A template indexed before own-offers marks existed (no mark): the
    tick skips its bucket; `backfill-lists` gives the store its mark and
    the next tick's post carries the offer."""
    from chalicelib.coupons import own_offers

    _stores(api, admin, ["b1"])
    scoped = {**CHAIN_WIDE, "title": "老券补标", "scope": {"store_ids": ["b1"]}}
    assert api.post("/coupon-templates", scoped, as_=admin).status == 201
    db.connection().client.delete_item(TableName=own_offers.table_name(), Key=own_offers.mark_key("b1"))
    assert _noon_tick(workers=1).outcome["posted"] == 1
    assert "老券补标" not in (for_day("b1", NOON.date())[0].body or "")
    assert own_offers.backfill(NOON, dry_run=True) == 1  # counts the store named, writes nothing:
    assert own_offers.backfill(NOON) == 1 and own_offers.backfill(NOON) == 0  # idempotent
    set_clock(FixedClock(TEA))
    assert run_tick(TEA, InProcessQueue(TEA, RecordChannel(), workers=1)).outcome["posted"] == 1
    tea = [p for p in for_day("b1", NOON.date()) if p.slot == "tea"][0]
    assert "老券补标" in (tea.body or "")


def test_the_own_offers_mark_only_moves_forward_and_follows_a_scope_edit(api: Api, admin: str) -> None:
    """The save path marks every store a template names, before its index
    entries: the latest claim end wins (an earlier one never pulls it back),
    and an edit that adds a store marks that store."""
    from chalicelib.coupons import own_offers

    def until(store_id: str) -> str | None:
        raw = db.connection().client.get_item(TableName=own_offers.table_name(), Key=own_offers.mark_key(store_id),
                                              ConsistentRead=True).get("Item")
        return None if raw is None else own_offers.until_of(raw)

    late = {**CHAIN_WIDE, "title": "晚", "scope": {"store_ids": ["m1"]}}
    early = {**CHAIN_WIDE, "title": "早", "claim_end": "2026-11-21T00:00:00+08:00", "scope": {"store_ids": ["m1"]}}
    made = api.post("/coupon-templates", late, as_=admin)
    assert made.status == 201 and until("m1") == "2026-11-30T16:00:00Z" and until("m2") is None
    assert api.post("/coupon-templates", early, as_=admin).status == 201
    assert until("m1") == "2026-11-30T16:00:00Z"  # not pulled back
    edited = api.put(f"/coupon-templates/{made.body['template_id']}",
                     {**late, "scope": {"store_ids": ["m1", "m2"]}}, as_=admin)
    assert edited.status == 200 and until("m2") == "2026-11-30T16:00:00Z"
    assert api.post("/coupon-templates", CHAIN_WIDE, as_=admin).status == 201  # chain-wide: marks no store
    assert own_offers.mark("m1", "2026-11-30T16:00:00Z") is False and own_offers.mark("m1", "2026-12-31T00:00:00Z")
