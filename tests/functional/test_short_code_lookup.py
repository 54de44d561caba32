"""A typed short code is looked up with one BatchGetItem (the staff's guess
counter and the short-code item); keys DynamoDB leaves unprocessed are read
one by one, and the answer is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import db
from chalicelib.coupons import codes, short_codes
from chalicelib.coupons.errors import InvalidCode, TooManyGuesses
from chalicelib.coupons.models import GuessCounter
from chalicelib.settings import get_settings
from tests.api import Api, token
from tests.functional.test_coupons_lost_answers import DropAnswers

STORE = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "traffic_tier": "high", "spend_tier": "high"}


def _claimed(api: Api, admin: str) -> dict[str, Any]:
    assert api.put("/stores/S1", STORE, as_=admin).status == 200
    now = datetime.now(UTC)
    tid = api.post("/coupon-templates", {
        "title": "减5", "kind": "amount_off", "value": 500, "valid_days": 1,
        "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=1)).isoformat()},
        as_=admin).body["template_id"]
    reply = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, as_=token("member", "m1"))
    assert reply.status == 201
    return reply.body  # type: ignore[no-any-return]


@pytest.mark.parametrize("unprocessed", [False, True])
def test_a_short_code_names_its_coupons_v2_code(api: Api, admin: str, unprocessed: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    coupon = _claimed(api, admin)
    staff = token("staff", "clerk1", "S1")
    from chalicelib.auth import Principal

    clerk = Principal(sub="clerk1", role="staff", store_id="S1")
    key = codes.derive_key(get_settings().jwt_secret)
    client = db.connection().client
    handed_back: list[int] = []
    if unprocessed:  # throttled: DynamoDB hands every key back unprocessed
        def nothing_processed(RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
            handed_back.append(len(RequestItems))
            return {"Responses": {}, "UnprocessedKeys": RequestItems}
        monkeypatch.setattr(client, "batch_get_item", nothing_processed)
    now = datetime.now(UTC)
    signed = short_codes.to_signed(coupon["short_code"], clerk, key, now)
    assert signed == coupon["code"] and codes.read(signed, key).terms is not None
    for _ in range(short_codes.WRONG_GUESS_LIMIT):
        with pytest.raises(InvalidCode):
            short_codes.to_signed("1000000000" if coupon["short_code"] != "1000000000" else "1000000001",
                                  clerk, key, now)
    assert int(GuessCounter.scan().next().n) == short_codes.WRONG_GUESS_LIMIT
    assert handed_back == ([2] * (short_codes.WRONG_GUESS_LIMIT + 1) if unprocessed else [])
    with pytest.raises(TooManyGuesses):  # locked out: even the right code is refused
        short_codes.to_signed(coupon["short_code"], clerk, key, now)
    assert api.post("/redemptions", {"code": coupon["code"]}, as_=staff).status == 201  # the QR still works


def test_a_wrong_guess_whose_answer_is_lost_is_counted_once_also_when_the_request_is_retried(
        api: Api, admin: str) -> None:
    coupon = _claimed(api, admin)
    wrong = "1000000000" if coupon["short_code"] != "1000000000" else "1000000001"
    staff = token("staff", "clerk1", "S1")
    drop = DropAnswers(GuessCounter, 1, "UpdateItem")
    drop.install()
    # WHEN the ADD commits and its answer is lost, and the client re-sends the request with its key
    # (or the same send again within the request)
    first = api.post("/redemptions", {"code": wrong}, as_=staff, headers={"Idempotency-Key": "guess-1"})
    assert drop.dropped == 1  # an answer really was lost (else the count below proves nothing)
    again = api.post("/redemptions", {"code": wrong}, as_=staff, headers={"Idempotency-Key": "guess-1"})
    # THEN it counts once, and both are the wrong guess's answer
    assert int(GuessCounter.scan().next().n) == 1
    assert (first.status, first.body["error"]["code"]) == (400, "invalid_code"), first.body
    assert (again.status, again.body["error"]["code"]) == (400, "invalid_code"), again.body
    # and another wrong guess (another key) counts as one more
    assert api.post("/redemptions", {"code": wrong}, as_=staff, headers={"Idempotency-Key": "guess-2"}).status == 400
    assert int(GuessCounter.scan().next().n) == 2
