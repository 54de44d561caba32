"""Idle-hour clearance and offer content end to end with the real coupons
capability on DynamoDB Local: sold-out items are not announced, claims can
never exceed the qty on hand, member-day posts carry boosted offers."""

from __future__ import annotations

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.tick import TickSummary, advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from chalicelib.delivery.record import RecordChannel, recorded
from chalicelib.groups.models import GroupRecord
from chalicelib.stats.models import StoreDayStats
from tests.api import Api, token
from tests.integration.test_campaign_days import DAY, sh

pytestmark = pytest.mark.integration

STORE = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "idle_hour": "16:00", "member_day": "FRI"}


def setup_store(api: Api, admin: str, **changes: object) -> None:
    set_clock(FixedClock(sh("07:00")))
    assert api.put("/stores/s1", {**STORE, **changes}, as_=admin).status == 200
    GroupRecord("s1", 1, group_id="s1.1", capacity=200, member_count=3, created_at=sh("07:00")).save()
    advance_watermark(sh("07:00"))


def tick(hhmm: str) -> TickSummary:
    at = sh(hhmm)
    set_clock(FixedClock(at))
    return run_tick(at, InProcessQueue(at, RecordChannel(), workers=1))


def test_clearance_announces_items_in_stock_and_claims_stop_at_qty(api: Api, admin: str) -> None:
    setup_store(api, admin)
    pos = token("staff", "pos", store_id="s1")
    rule = {"discount_percent": 30, "from": "16:00"}
    assert api.put("/stores/s1/inventory/bread", {"name": "全麦面包", "qty": 3, "price_fen": 1800,
                                                  "clearance": rule}, as_=pos).status == 200
    api.put("/stores/s1/inventory/milk", {"name": "鲜牛奶", "qty": 0, "price_fen": 900, "clearance": rule}, as_=pos)
    api.put("/stores/s1/inventory/water", {"name": "矿泉水", "qty": 50, "price_fen": 300, "clearance": None}, as_=pos)
    # a later POS update before the idle hour is what the clearance uses
    api.put("/stores/s1/inventory/bread", {"name": "全麦面包", "qty": 2, "price_fen": 1800, "clearance": rule}, as_=pos)
    assert tick("15:55").outcome["posted"] == 3  # morning, noon, tea
    summary = tick("16:00")
    assert summary.outcome["posted"] == 1
    post = posts.get("s1", f"{DAY.isoformat()}.clearance")
    assert post.kind == "clearance" and post.status == "sent"
    assert [(o.template_id, o.value, o.remaining) for o in post.offers or []] == [("clr.s1.20261120.bread", 540, 2)]
    assert "全麦面包 清仓价¥12.60" in (post.body or "") and "鲜牛奶" not in (post.body or "")
    assert len(recorded("s1", post.post_id)) == 1
    # members see it in the store's offers and claim it: never more than the 2 units on hand
    set_clock(FixedClock(sh("16:10")))
    offers = api.get("/stores/s1/offers", as_=token("member", "m0")).body["offers"]
    assert [(o["template_id"], o["kind"], o["remaining"]) for o in offers] == [
        ("clr.s1.20261120.bread", "clearance", 2)]
    results = [api.post("/coupon-templates/clr.s1.20261120.bread/claim", {"store_id": "s1"},
                        as_=token("member", f"m{i}")) for i in range(4)]
    assert [r.status for r in results] == [201, 201, 409, 409]
    assert {r.error_code for r in results[2:]} == {"sold_out"}
    assert StoreDayStats.get("s1", DAY.isoformat()).clearance_units_claimed == 2
    # a duplicate idle-hour trigger issues no second stock
    assert tick("16:00").outcome["posted"] == 0


def test_noon_carries_the_flash_coupon_boosted_on_member_day(api: Api, admin: str) -> None:
    setup_store(api, admin, idle_hour=None)
    template = {"title": "午间拿铁立减5元", "kind": "amount_off", "value": 500, "total_stock": 100,
                "scope": {"store_ids": ["s1"]}, "claim_start": sh("11:00").isoformat(),
                "claim_end": sh("14:00").isoformat(), "valid_days": 1, "member_day_boost": {"value": 800}}
    reply = api.post("/coupon-templates", template, as_=admin)
    assert reply.status == 201, reply.body
    tick("11:55")
    assert tick("12:00").outcome["posted"] == 1  # 2026-11-20 is a Friday: the store's member day
    noon = posts.get("s1", f"{DAY.isoformat()}.noon")
    assert noon.member_day == "1" and "会员日" in (noon.body or "")
    assert [(o.title, o.value, o.boosted, o.remaining) for o in noon.offers or []] == [
        ("午间拿铁立减5元", 800, "1", 100)]
    assert "立减¥8.00" in (noon.body or "")
    # the 11:55 tick was the day's first: it caught up the morning slot with what was live then
    morning = posts.get("s1", f"{DAY.isoformat()}.morning")
    assert morning.fire_at == sh("08:30") and morning.created_at == sh("11:55")


def test_another_weekday_is_not_member_day(api: Api, admin: str) -> None:
    setup_store(api, admin, idle_hour=None, member_day="SAT")
    tick("11:55")
    tick("12:00")
    noon = posts.get("s1", f"{DAY.isoformat()}.noon")
    assert noon.member_day is None and "会员日" not in (noon.body or "")


def test_an_item_named_before_names_refused_control_characters_is_still_announced(api: Api, admin: str) -> None:
    """An inventory name saved with a newline by an older version (the API
    refuses one now) must not fail the idle-hour post: the title gets a
    space instead."""
    from chalicelib.inventory.models import InventoryItem

    setup_store(api, admin)
    pos = token("staff", "pos", store_id="s1")
    rule = {"discount_percent": 30, "from": "16:00"}
    assert api.put("/stores/s1/inventory/bread", {"name": "全麦面包", "qty": 3, "price_fen": 1800,
                                                  "clearance": rule}, as_=pos).status == 200
    InventoryItem("s1", "bread").update(actions=[InventoryItem.name.set("全麦\n面包")])  # as stored before
    tick("15:55")
    assert tick("16:00").outcome["posted"] == 1
    post = posts.get("s1", f"{DAY.isoformat()}.clearance")
    assert post.status == "sent" and "全麦 面包 清仓价¥12.60" in (post.body or "")
