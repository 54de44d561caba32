"""Clearance rules: price, what is announced, the claim window."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from chalicelib.inventory.clearance import ClearanceItem, claim_window, clearance_price, template_id, to_announce

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("price,pct,expected", [(1800, 30, 1260), (999, 33, 669), (100, 99, 1), (1, 50, 1)])
def test_clearance_price_rounds_down_in_the_customers_favour(price: int, pct: int, expected: int) -> None:
    assert clearance_price(price, pct) == expected


@pytest.mark.parametrize("pct", [0, 100, -5])
def test_discount_must_be_a_real_percentage(pct: int) -> None:
    with pytest.raises(ValueError):
        clearance_price(1000, pct)


def test_only_items_with_stock_and_a_rule_are_announced() -> None:
    items = [ClearanceItem("b", "面包", 3, 1800, 30, "16:00"), ClearanceItem("m", "牛奶", 0, 900, 30, "16:00"),
             ClearanceItem("w", "水", 50, 300, None, None), ClearanceItem("a", "苹果", 1, 500, 10, None)]
    assert [i.sku for i in to_announce(items)] == ["a", "b"]


def test_claims_run_from_the_idle_hour_or_the_items_own_start_to_the_end_of_the_day() -> None:
    fire = datetime(2026, 11, 20, 16, 0, tzinfo=SH)
    day = date(2026, 11, 20)
    early = ClearanceItem("b", "面包", 3, 1800, 30, "15:00")
    late = ClearanceItem("c", "蛋糕", 3, 1800, 30, "18:30")
    assert claim_window(early, fire, day, "Asia/Shanghai") == (fire, datetime(2026, 11, 21, 0, 0, tzinfo=SH))
    assert claim_window(late, fire, day, "Asia/Shanghai")[0] == datetime(2026, 11, 20, 18, 30, tzinfo=SH)


def test_template_ids_are_per_store_day_and_sku() -> None:
    assert template_id("s1", date(2026, 11, 20), "bread") == "clr.s1.20261120.bread"


def test_long_clearance_ids_are_hashed_never_cut_into_collisions() -> None:
    from datetime import date

    from chalicelib.inventory.clearance import template_id

    store = "s" * 46
    a = template_id(store, date(2026, 11, 20), "6901234567890")
    b = template_id(store, date(2026, 11, 20), "6901234567891")
    assert a != b and len(a) <= 64 and len(b) <= 64
    assert template_id("s1", date(2026, 11, 20), "bread") == "clr.s1.20261120.bread"


def test_clearance_ids_never_collide_across_stores_whose_ids_contain_dots() -> None:
    day = date(2026, 11, 20)
    pairs = [("a", "20261120.c"), ("a.20261120", "c"), ("a.b", "c"), ("a", "b.c"), ("x" * 60, "sku"),
             ("x" * 60, "sku2"), ("x" * 59, "xsku")]
    ids = [template_id(store, day, sku) for store, sku in pairs]
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= 64 for i in ids)
    assert template_id("a.b", day, "c") == template_id("a.b", day, "c")  # still deterministic
