"""Pure: cross-field template validation, one problem per bad field."""

from __future__ import annotations

from typing import Any

from chalicelib.coupons.schemas import TemplateIn, template_problems

BASE: dict[str, Any] = {"title": "t", "kind": "amount_off", "value": 1000,
                        "claim_start": "2026-11-01T00:00:00+08:00", "claim_end": "2026-12-01T00:00:00+08:00",
                        "valid_days": 7}


def problems(**over: Any) -> set[str]:
    return {p["field"] for p in template_problems(TemplateIn.model_validate({**BASE, **over}))}


def test_a_good_template_has_no_problems() -> None:
    assert problems() == set()
    assert problems(valid_days=None, valid_until="2026-12-01T00:00:00+08:00") == set()
    assert problems(kind="percent_off", value=99, member_day_boost={"value": 50}) == set()


def test_percent_is_1_to_99() -> None:
    assert problems(kind="percent_off", value=100) == {"value"}
    assert problems(kind="percent_off", value=20, member_day_boost={"value": 100}) == {"member_day_boost.value"}
    assert problems(kind="amount_off", value=100) == set()


def test_windows_are_ordered() -> None:
    assert problems(claim_end="2026-11-01T00:00:00+08:00") == {"claim_end"}
    assert problems(valid_days=None, valid_until="2026-11-15T00:00:00+08:00") == {"valid_until"}


def test_exactly_one_validity() -> None:
    assert problems(valid_days=None) == {"valid_days"}
    assert problems(valid_until="2026-12-05T00:00:00+08:00") == {"valid_days"}


def test_shards_need_stock() -> None:
    assert problems(stock_shards=2) == {"stock_shards"}
    assert problems(total_stock=1, stock_shards=2) == {"stock_shards"}
    assert problems(total_stock=10, stock_shards=2) == set()


def test_duplicate_store_ids() -> None:
    assert problems(scope={"store_ids": ["S1", "S1"]}) == {"scope.store_ids"}
