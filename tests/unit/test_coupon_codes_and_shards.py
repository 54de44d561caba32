"""Pure: signed coupon codes (tamper-evident) and stock shard arithmetic."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from chalicelib.coupons import codes, shards
from chalicelib.coupons.errors import InvalidCode

KEY = codes.derive_key("test-secret-for-storeloop-tests-only-0123456789")


def test_a_code_round_trips_to_its_coupon_id() -> None:
    coupon_id = codes.new_coupon_id()
    code = codes.sign(coupon_id, KEY)
    assert len(code) == 47 and code.isalnum() and code == code.upper()
    assert codes.verify(code, KEY) == coupon_id
    assert codes.verify(" " + code.lower() + " ", KEY) == coupon_id  # scanners vary in case


def test_every_single_character_change_is_refused() -> None:
    code = codes.sign(codes.new_coupon_id(), KEY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for i, original in enumerate(code):
        for c in alphabet:
            if c != original:
                with pytest.raises(InvalidCode):
                    codes.verify(code[:i] + c + code[i + 1:], KEY)


@pytest.mark.parametrize("bad", ["", "   ", "!!!!", "A" * 47, "A" * 200, "0O1I", "MFRGG==="])
def test_garbage_is_refused(bad: str) -> None:
    with pytest.raises(InvalidCode):
        codes.verify(bad, KEY)


def test_a_code_from_another_key_or_label_is_refused() -> None:
    coupon_id = codes.new_coupon_id()
    other = codes.derive_key("another-secret-entirely-0123456789-abcdef")
    with pytest.raises(InvalidCode):
        codes.verify(codes.sign(coupon_id, other), KEY)
    # the derived key is not the secret itself (domain separation from JWTs)
    assert codes.derive_key("s" * 40) != b"s" * 40


def test_ids_are_unguessable() -> None:
    assert len({codes.new_coupon_id() for _ in range(1000)}) == 1000


@pytest.mark.parametrize("total,requested,expected", [
    (1, None, 1), (50, None, 1), (51, None, 2), (1000, None, 20), (10**6, None, 32),
    (40, 4, 4), (3, 8, 3), (100, 64, 32),
])
def test_shard_count(total: int, requested: int | None, expected: int) -> None:
    assert shards.shard_count(total, requested) == expected


@pytest.mark.parametrize("total,n", [(1, 1), (10, 3), (40, 4), (1001, 32), (7, 7)])
def test_split_sums_to_total_and_is_even(total: int, n: int) -> None:
    parts = shards.split_stock(total, n)
    assert sum(parts) == total and len(parts) == n and max(parts) - min(parts) <= 1


def test_pick_is_blind_before_any_read() -> None:
    rng = random.Random(7)
    picks = Counter(shards.pick_shard(4, None, rng) for _ in range(4000))
    assert set(picks) == {0, 1, 2, 3} and min(picks.values()) > 800


def test_pick_after_a_read_only_chooses_shards_with_stock() -> None:
    rng = random.Random(7)
    known = {0: 0, 1: 3, 2: 0, 3: 1}
    picks = Counter(shards.pick_shard(4, known, rng) for _ in range(4000))
    assert set(picks) == {1, 3} and picks[1] > picks[3]  # weighted by what is left


def test_all_shards_dry_means_sold_out() -> None:
    assert shards.pick_shard(3, {0: 0, 1: 0, 2: 0}, random.Random(1)) is None
    assert shards.pick_shard(3, {}, random.Random(1)) is None


def test_the_documented_ceiling() -> None:
    assert shards.ceiling_claims_per_s(32) == 32_000
