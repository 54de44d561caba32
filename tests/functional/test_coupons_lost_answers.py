"""A claim or redemption that commits and whose answers are lost is not read
as a refusal (issue 12). The answers are dropped by a wrapper around the
transaction's send: the write reaches DynamoDB (moto), then the caller sees a
dropped connection, as after a commit whose response never arrived."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError

from chalicelib import db, retry
from chalicelib.clock import FixedClock, set_clock
from chalicelib.coupons import templates, terms
from chalicelib.coupons.models import ClaimCount, CouponRecord, RedemptionRecord, TemplateRecord
from chalicelib.stats.models import StoreDayStats
from tests.api import Api
from tests.functional.test_coupons_api import NOON_FRI, claim, create, member, put_store, staff, template


class DropAnswers:
    """Let the next `count` TransactWriteItems (or `operation`) that write
    `table` reach DynamoDB, then lose their answer (success or refusal alike):
    a botocore `after-call` hook on the shared client raises a dropped connection."""

    def __init__(self, model: Any, count: int, operation: str = "TransactWriteItems") -> None:
        self.table, self.left, self.dropped = model.Meta.table_name, count, 0
        self.operation = operation

    def install(self) -> None:
        events = db.connection().client.meta.events

        def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            body = params.get("body") or b""
            text = body.decode() if isinstance(body, bytes) else str(body)
            context["drop_answer"] = f'"{self.table}"' in text and self.left > 0

        def after(context: dict[str, Any], **_: Any) -> None:
            if context.get("drop_answer"):
                self.left -= 1
                self.dropped += 1
                raise ConnectionClosedError(endpoint_url="http://dynamodb")

        events.register(f"before-call.dynamodb.{self.operation}", before, unique_id=f"drop-before-{self.operation}")
        events.register(f"after-call.dynamodb.{self.operation}", after, unique_id=f"drop-after-{self.operation}")


@pytest.fixture
def clock() -> FixedClock:
    fixed = FixedClock(NOON_FRI)
    set_clock(fixed)
    return fixed


@pytest.fixture
def shops(api: Api, admin: str, clock: FixedClock) -> Api:
    put_store(api, admin, "S1")
    return api


@pytest.fixture
def short_budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(retry, "REQUEST_BUDGET_S", 1.0)  # the request gives up sooner
    yield


def stock_left(template_id: str) -> int:
    return templates.stock_left(template_id)


def day_stats(store_id: str = "S1") -> Any:
    return StoreDayStats.get(store_id, "2026-11-20", consistent_read=True)


def test_a_claim_whose_answer_is_lost_once_is_201_and_takes_one_unit(
        shops: Api, admin: str) -> None:
    template_id = create(shops, admin, total_stock=1, per_member_limit=1)
    drop = DropAnswers(CouponRecord, 1)
    drop.install()
    reply = claim(shops, template_id, "S1", member("a"))
    assert drop.dropped == 1
    assert reply.status == 201, reply.body  # the re-send found its own coupon, not "sold out"
    assert stock_left(template_id) == 0
    wallet = shops.get("/members/me/coupons", as_=member("a")).body["coupons"]
    assert [c["coupon_id"] for c in wallet] == [reply.body["coupon_id"]]
    assert int(day_stats().coupons_claimed) == 1


def test_a_claim_retried_with_its_key_after_every_answer_was_lost_is_the_same_coupon(
        shops: Api, admin: str, short_budget: None) -> None:
    template_id = create(shops, admin, total_stock=5, per_member_limit=2)
    drop = DropAnswers(CouponRecord, 10_000)
    drop.install()
    headers = {"Idempotency-Key": "claim-1"}
    first = shops.post(f"/coupon-templates/{template_id}/claim", {"store_id": "S1"}, as_=member("a"),
                       headers=headers)
    assert first.status == 503 and first.error_code == "try_again"  # committed, but no answer ever came
    assert drop.dropped >= 1 and stock_left(template_id) == 4
    drop.left = 0  # the network heals; the client retries the whole request with its key
    again = shops.post(f"/coupon-templates/{template_id}/claim", {"store_id": "S1"}, as_=member("a"),
                       headers=headers)
    assert again.status == 201, again.body
    wallet = shops.get("/members/me/coupons", as_=member("a")).body["coupons"]
    assert [c["coupon_id"] for c in wallet] == [again.body["coupon_id"]]
    assert stock_left(template_id) == 4  # one unit, not two
    assert int(ClaimCount.get("a", template_id, consistent_read=True).claimed) == 1  # counted once
    assert int(day_stats().coupons_claimed) == 1


def test_a_sold_out_answer_is_not_given_to_the_request_that_bought_the_last_unit(
        shops: Api, admin: str, short_budget: None) -> None:
    template_id = create(shops, admin, total_stock=1, per_member_limit=1)
    drop = DropAnswers(CouponRecord, 10_000)
    drop.install()
    headers = {"Idempotency-Key": "last-unit"}
    path = f"/coupon-templates/{template_id}/claim"
    assert shops.post(path, {"store_id": "S1"}, as_=member("a"), headers=headers).status == 503
    drop.left = 0
    terms.read_stock(template_id)  # this container now knows the template is sold out
    assert claim(shops, template_id, "S1", member("b")).error_code == "sold_out"
    again = shops.post(path, {"store_id": "S1"}, as_=member("a"), headers=headers)
    assert again.status == 201, again.body


def redeemable(shops: Api, admin: str) -> str:
    template_id = create(shops, admin)
    return str(claim(shops, template_id, "S1", member("a")).body["code"])


def test_a_redemption_whose_answer_is_lost_once_is_201_not_already_redeemed(
        shops: Api, admin: str) -> None:
    code = redeemable(shops, admin)
    drop = DropAnswers(RedemptionRecord, 1)
    drop.install()
    reply = shops.post("/redemptions", {"code": code, "spend_fen": 6000}, as_=staff("S1"))
    assert drop.dropped == 1
    assert reply.status == 201, reply.body
    log = shops.get("/stores/S1/redemptions?date=2026-11-20", as_=staff("S1")).body["redemptions"]
    assert [r["redemption_id"] for r in log] == [reply.body["redemption_id"]]
    assert int(day_stats().coupons_redeemed) == 1


def test_a_redemption_retried_with_its_key_after_every_answer_was_lost_is_the_same_redemption(
        shops: Api, admin: str, short_budget: None) -> None:
    code = redeemable(shops, admin)
    drop = DropAnswers(RedemptionRecord, 10_000)
    drop.install()
    headers = {"Idempotency-Key": "scan-1"}
    body = {"code": code, "spend_fen": 6000}
    assert shops.post("/redemptions", body, as_=staff("S1"), headers=headers).status == 503
    drop.left = 0
    again = shops.post("/redemptions", body, as_=staff("S1"), headers=headers)
    assert again.status == 201, again.body  # not 409 already_redeemed
    log = shops.get("/stores/S1/redemptions?date=2026-11-20", as_=staff("S1")).body["redemptions"]
    assert [r["redemption_id"] for r in log] == [again.body["redemption_id"]]
    assert int(day_stats().coupons_redeemed) == 1
    other = shops.post("/redemptions", body, as_=staff("S1", "clerk2"), headers={"Idempotency-Key": "scan-2"})
    assert other.error_code == "already_redeemed"  # someone else's scan is still refused


def test_a_reversal_retried_with_its_key_after_every_answer_was_lost_is_the_same_reversal(
        shops: Api, admin: str, short_budget: None) -> None:
    code = redeemable(shops, admin)
    rid = shops.post("/redemptions", {"code": code, "spend_fen": 6000}, as_=staff("S1")).body["redemption_id"]
    drop = DropAnswers(RedemptionRecord, 10_000)
    drop.install()
    headers = {"Idempotency-Key": "undo-1"}
    assert shops.post(f"/redemptions/{rid}/reverse", as_=staff("S1"), headers=headers).status == 503
    drop.left = 0
    again = shops.post(f"/redemptions/{rid}/reverse", as_=staff("S1"), headers=headers)
    assert again.status == 200, again.body  # not 409 already_reversed
    assert int(day_stats().redemptions_reversed) == 1
    other = shops.post(f"/redemptions/{rid}/reverse", as_=staff("S1", "clerk2"), headers={"Idempotency-Key": "undo-2"})
    assert other.error_code == "already_reversed"  # someone else's reversal is still refused


def test_a_template_created_with_its_key_after_every_answer_was_lost_is_one_template(
        shops: Api, admin: str, short_budget: None) -> None:
    drop = DropAnswers(TemplateRecord, 10_000)
    drop.install()
    headers = {"Idempotency-Key": "new-1"}
    assert shops.post("/coupon-templates", template(), as_=admin, headers=headers).status == 503
    drop.left = 0
    again = shops.post("/coupon-templates", template(), as_=admin, headers=headers)
    assert again.status == 201, again.body  # not a second template
    assert [t.template_id for t in TemplateRecord.scan(consistent_read=True)] == [again.body["template_id"]]
    assert again.body["title"] == template()["title"]
