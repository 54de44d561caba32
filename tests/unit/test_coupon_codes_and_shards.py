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
    (40, 4, 4), (3, 8, 3), (100, 64, 64), (1000, 150, 99), (10**6, 99, 99),
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
    assert shards.ceiling_claims_per_s(32) == 16_000
    assert shards.ceiling_claims_per_s(shards.MAX_SHARDS) == 49_500


TERMS = codes.Terms(template_id="tpl-0123456789abcdef", member_id="oK3x9-member-会员", kind="percent_off",
                    value=15, min_spend_fen=300000)


def test_a_v2_code_carries_the_coupons_terms_and_stays_qr_alphanumeric() -> None:
    coupon_id = codes.new_coupon_id()
    code = codes.sign_terms(coupon_id, TERMS, KEY)
    assert 47 < len(code) <= codes.MAX_CODE_CHARS and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert codes.read(code, KEY) == codes.Code(coupon_id, TERMS)
    assert codes.read(" " + code.lower() + " ", KEY).terms == TERMS
    assert codes.verify(code, KEY) == coupon_id  # the id alone, as for v1
    for kind in codes.KINDS:
        terms = codes.Terms("t", "m", kind, 0, 0)
        assert codes.read(codes.sign_terms(coupon_id, terms, KEY), KEY).terms == terms


def test_v1_codes_stay_valid_and_say_they_carry_no_terms() -> None:
    coupon_id = codes.new_coupon_id()
    assert codes.read(codes.sign(coupon_id, KEY), KEY) == codes.Code(coupon_id, None)


def test_every_single_character_change_of_a_v2_code_is_refused() -> None:
    code = codes.sign_terms(codes.new_coupon_id(), TERMS, KEY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for i, original in enumerate(code):
        for c in alphabet:
            if c != original:
                with pytest.raises(InvalidCode):
                    codes.read(code[:i] + c + code[i + 1:], KEY)
    for cut in (1, 8, 26, len(code) - 30):  # truncated or extended
        with pytest.raises(InvalidCode):
            codes.read(code[:-cut], KEY)
    with pytest.raises(InvalidCode):
        codes.read(code + "AAAAAAAA", KEY)


def test_a_v1_payload_cannot_be_relabelled_v2_nor_terms_moved_to_another_coupon() -> None:
    import base64

    coupon_id, other_id = codes.new_coupon_id(), codes.new_coupon_id()
    raw = bytearray(_decode(codes.sign(coupon_id, KEY)))
    raw[0] = codes.VERSION_TERMS
    with pytest.raises(InvalidCode):
        codes.read(base64.b32encode(bytes(raw)).decode().rstrip("="), KEY)
    v2 = bytearray(_decode(codes.sign_terms(coupon_id, TERMS, KEY)))
    v2[1:13] = bytes.fromhex(other_id)  # the same sealed terms and MAC, another id
    with pytest.raises(InvalidCode):
        codes.read(base64.b32encode(bytes(v2)).decode().rstrip("="), KEY)
    with pytest.raises(InvalidCode):
        codes.read(codes.sign_terms(coupon_id, TERMS, codes.derive_key("another-secret-entirely-0123456789")), KEY)


def _decode(code: str) -> bytes:
    import base64

    return base64.b32decode(code + "=" * (-len(code) % 8))


def test_the_terms_are_sealed_not_shown() -> None:
    raw = _decode(codes.sign_terms(codes.new_coupon_id(), TERMS, KEY))
    assert TERMS.member_id.encode() not in raw and TERMS.template_id.encode() not in raw


def test_terms_too_long_for_a_qr_fall_back_to_a_v1_code() -> None:
    coupon_id = codes.new_coupon_id()
    long = codes.Terms(template_id="t" * 100, member_id="m" * 100, kind="amount_off", value=1, min_spend_fen=0)
    assert codes.read(codes.sign_terms(coupon_id, long, KEY), KEY) == codes.Code(coupon_id, None)
    unknown_kind = codes.Terms(template_id="t", member_id="m", kind="barter", value=1, min_spend_fen=0)
    assert codes.read(codes.sign_terms(coupon_id, unknown_kind, KEY), KEY).terms is None
