"""The redemption preview answers what `POST /redemptions` would: the same
refusal (code and message) from the same rules (redemptions.check_redeemable_at),
in the same order, and changes nothing."""

from __future__ import annotations

from typing import Any

from chalicelib.clock import FixedClock
from tests.api import Api
from tests.functional.test_coupons_api import claim, clock, create, member, shops, staff

__all__ = ["clock", "shops"]  # fixtures


def preview_then_redeem(api: Api, code: str, who: str, **body: Any) -> tuple[Any, Any]:
    seen = api.post("/redemptions/preview", {"code": code, **body}, as_=who)
    assert seen.status == 200, seen.body
    done = api.post("/redemptions", {"code": code, **body}, as_=who)
    return seen.body, done


def assert_same_refusal(seen: Any, done: Any, code: str) -> None:
    assert done.status in (403, 409), done.body
    assert not seen["redeemable"]
    assert seen["refusal"] == {"code": code, "message": done.body["error"]["message"]}
    assert done.error_code == code


def test_the_preview_names_the_refusal_redeem_gives_in_its_order(shops: Api, admin: str, clock: FixedClock) -> None:
    scoped = create(shops, admin, scope={"store_ids": ["S1"]})
    held = claim(shops, scoped, "S1", member("m1")).body
    # wrong store first (also with too little spend)
    assert_same_refusal(*preview_then_redeem(shops, held["code"], staff("S2", "clerk2"), spend_fen=100),
                        "wrong_store")
    # then min spend, then a redemption, then already redeemed (before min spend)
    assert_same_refusal(*preview_then_redeem(shops, held["code"], staff("S1"), spend_fen=100), "min_spend_not_met")
    seen, done = preview_then_redeem(shops, held["code"], staff("S1"), spend_fen=6000)
    assert seen["redeemable"] and seen["discount_fen"] == done.body["discount_fen"] == 1000 and done.status == 201
    assert_same_refusal(*preview_then_redeem(shops, held["code"], staff("S1"), spend_fen=100), "already_redeemed")
    # expired
    later = claim(shops, scoped, "S1", member("m2")).body
    clock.advance(days=8)
    assert_same_refusal(*preview_then_redeem(shops, later["code"], staff("S1"), spend_fen=6000), "expired")
