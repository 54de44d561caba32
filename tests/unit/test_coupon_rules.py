"""Pure coupon rules: scope, scope buckets, member day, window, expiry, discount."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.coupons import rules
from chalicelib.coupons.errors import Ended, MinSpendNotMet, NotStarted
from chalicelib.coupons.rules import Scope
from chalicelib.errors import ValidationFailed

TIERS = ("high", "medium", "low")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # Friday 12:00 in Shanghai


@pytest.mark.parametrize("scope,store,expected", [
    (Scope.of(), ("S1", "low", "low"), True),
    (Scope.of(["S1"]), ("S1", "low", "low"), True),
    (Scope.of(["S1"]), ("S2", "high", "high"), False),
    (Scope.of(traffic_tiers=["high"]), ("S2", "high", "low"), True),
    (Scope.of(traffic_tiers=["high"], spend_tiers=["high"]), ("S2", "high", "low"), False),
    (Scope.of(traffic_tiers=["high"], spend_tiers=["high"]), ("S2", "high", "high"), True),
    (Scope.of(["S9"], traffic_tiers=["low"]), ("S9", "high", "high"), True),  # listed wins
    (Scope.of(["S9"], traffic_tiers=["low"]), ("S3", "low", "medium"), True),  # or tiers match
    (Scope.of(["S9"], traffic_tiers=["low"]), ("S3", "high", "medium"), False),
])
def test_scope_lists_or_tiers(scope: Scope, store: tuple[str, str, str], expected: bool) -> None:
    assert scope.covers(*store) is expected


def _subsets() -> list[tuple[str, ...]]:
    return [c for n in range(len(TIERS) + 1) for c in itertools.combinations(TIERS, n)]


def test_buckets_find_exactly_the_stores_in_scope() -> None:
    """Exhaustive: every scope shape x every store shape; the index (bucket
    intersection) agrees with the rule, so offers never miss a template."""
    stores = [(sid, t, s) for sid in ("S1", "S2") for t in TIERS for s in TIERS]
    for ids in ((), ("S1",)):
        for tt in _subsets():
            for st in _subsets():
                scope = Scope.of(ids, tt, st)
                filed = set(rules.template_buckets(scope))
                for store in stores:
                    found = bool(filed & set(rules.store_buckets(*store)))
                    assert found is scope.covers(*store), (scope, store)


def test_a_two_tier_scope_files_at_most_nine_buckets() -> None:
    assert len(rules.template_buckets(Scope.of(traffic_tiers=TIERS, spend_tiers=TIERS))) == 9


@pytest.mark.parametrize("member_day,tz,expected", [
    ("FRI", "Asia/Shanghai", True),
    ("THU", "Asia/Shanghai", False),
    (None, "Asia/Shanghai", False),
    ("THU", "America/Los_Angeles", True),  # still Thursday 20:00 there
])
def test_member_day_is_the_store_local_weekday(member_day: str | None, tz: str, expected: bool) -> None:
    assert rules.is_member_day(member_day, NOW, tz) is expected


def test_member_day_turns_at_local_midnight() -> None:
    before = datetime(2026, 11, 19, 15, 59, 59, tzinfo=UTC)  # Thu 23:59:59 Shanghai
    assert not rules.is_member_day("FRI", before, "Asia/Shanghai")
    assert rules.is_member_day("FRI", before + timedelta(seconds=1), "Asia/Shanghai")


def test_boost_replaces_the_value_only_on_member_day() -> None:
    assert rules.claim_value(1000, 1500, True) == (1500, True)
    assert rules.claim_value(1000, 1500, False) == (1000, False)
    assert rules.claim_value(1000, None, True) == (1000, False)


def test_claim_window_is_half_open() -> None:
    start, end = NOW, NOW + timedelta(hours=1)
    rules.check_claim_window(start, end, start)
    with pytest.raises(NotStarted):
        rules.check_claim_window(start, end, start - timedelta(microseconds=1))
    with pytest.raises(Ended):
        rules.check_claim_window(start, end, end)


def test_expiry_from_days_or_absolute() -> None:
    assert rules.expires_at(NOW, 7, None) == NOW + timedelta(days=7)
    until = NOW + timedelta(days=2)
    assert rules.expires_at(NOW, None, until) == until


def test_status_is_derived_at_read_time() -> None:
    expires = NOW + timedelta(hours=1)
    assert rules.coupon_status("claimed", expires, NOW) == "claimed"
    assert rules.coupon_status("claimed", expires, expires) == "expired"
    assert rules.coupon_status("redeemed", expires, expires + timedelta(days=1)) == "redeemed"


@pytest.mark.parametrize("kind,value,min_spend,spend,expected", [
    ("amount_off", 1000, 5000, 6000, 1000),
    ("amount_off", 1000, 0, 600, 600),  # capped at the spend
    ("amount_off", 1000, 0, None, 1000),
    ("percent_off", 15, 0, 3333, 499),  # floor
    ("percent_off", 99, 0, 1, 0),
    ("free_item", 800, 0, None, 800),
    ("free_item", 800, 0, 500, 500),
    ("clearance", 450, 0, 2000, 450),
])
def test_discount(kind: str, value: int, min_spend: int, spend: int | None, expected: int) -> None:
    assert rules.discount_fen(kind, value, min_spend, spend) == expected


def test_min_spend_needs_a_spend_that_reaches_it() -> None:
    with pytest.raises(MinSpendNotMet):
        rules.discount_fen("amount_off", 1000, 5000, 4999)
    with pytest.raises(MinSpendNotMet):
        rules.discount_fen("amount_off", 1000, 5000, None)
    assert rules.discount_fen("amount_off", 1000, 5000, 5000) == 1000


def test_percent_off_without_spend_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as err:
        rules.discount_fen("percent_off", 10, 0, None)
    assert err.value.details == [{"field": "spend_fen", "problem": "required to redeem a percent_off coupon"}]


def test_within_the_reversal_window() -> None:
    assert rules.within(NOW + timedelta(hours=24), NOW, timedelta(hours=24))
    assert not rules.within(NOW + timedelta(hours=24, seconds=1), NOW, timedelta(hours=24))
