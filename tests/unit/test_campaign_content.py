"""Post content: which offers a slot carries and what it says; retry policy."""

from __future__ import annotations

from datetime import date, timedelta

from chalicelib.campaigns.content import build_body, select_offers, yuan
from chalicelib.campaigns.offers_source import Offer
from chalicelib.campaigns.retry_policy import MAX_ATTEMPTS, OUTBOX_SHARDS, backoff, exhausted, outbox_shard
from chalicelib.campaigns.slots import SlotSpec

FLASH = Offer("f", "午间拿铁", "amount_off", 500, remaining=10)
REGULAR = Offer("r", "满30减3", "amount_off", 300, min_spend_fen=3000)
CLEAR = Offer("c", "面包 清仓价¥12.60", "clearance", 540, remaining=2)
DAY = date(2026, 11, 20)


def test_noon_carries_flash_coupons_idle_hour_clearance_others_regular() -> None:
    offers = [FLASH, REGULAR, CLEAR]
    assert select_offers("flash_coupon", offers) == [FLASH]
    assert select_offers("flash_coupon", [REGULAR]) == [REGULAR]  # no flash coupon: still says something
    assert select_offers("clearance", offers) == [CLEAR]
    assert select_offers("poster", offers) == [FLASH, REGULAR]


def test_member_day_bodies_say_so_and_list_offers() -> None:
    body = build_body("政立路店", SlotSpec("noon", "12:00", "flash_coupon"),
                      [Offer("f", "午间拿铁", "amount_off", 800, remaining=10, boosted=True)], True, DAY)
    assert body.splitlines()[0] == "【会员日】今日会员专享，优惠已加码！"
    assert "午间拿铁 立减¥8.00 剩10份 (会员日加码)" in body and "11月20日" in body
    plain = build_body("政立路店", SlotSpec("tea", "15:00", "afternoon_promo"), [REGULAR], False, DAY)
    assert "会员日" not in plain and "满¥30.00可用" in plain


def test_money_is_formatted_from_fen() -> None:
    assert (yuan(0), yuan(5), yuan(1260), yuan(100000)) == ("0.00", "0.05", "12.60", "1000.00")


def test_backoff_doubles_to_a_cap_and_attempts_run_out() -> None:
    assert [backoff(n) for n in range(1, 5)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(20) == timedelta(minutes=30)
    assert not exhausted(MAX_ATTEMPTS - 1) and exhausted(MAX_ATTEMPTS)
    assert {outbox_shard(f"s{i}") for i in range(200)} == {str(i) for i in range(OUTBOX_SHARDS)}
