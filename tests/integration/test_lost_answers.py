"""The review's findings, each replayed exactly: DynamoDB Local behind the
scripted fault proxy, botocore's own retries off, so the fault reaches
Storeloop's code the way it does once botocore has given up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.coupons import templates
from chalicelib.coupons.models import CouponRecord
from chalicelib.delivery.record import RecordChannel, recorded
from chalicelib.stats.models import StoreDayStats
from devtools.fault_proxy import FaultProxy
from tests.api import Api, token
from tests.conftest import use_environment
from tests.functional.test_coupons_api import STORE
from tests.integration.test_campaign_days import DAY, add_store, sh

pytestmark = pytest.mark.integration
TX = "TransactWriteItems"


@pytest.fixture
def proxy(dynamodb_local: Any, api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(dynamodb_local.endpoint, rate=0.0) as running:
        use_environment(monkeypatch, AWS_ENDPOINT_URL_DYNAMODB=running.url, STORELOOP_DDB_MAX_RETRIES="0")
        yield running


def flash(api: Api, admin: str, stock: int = 3) -> str:
    now = datetime.now(UTC)
    assert api.put("/stores/S1", {**STORE, "member_day": None}, as_=admin).status == 200
    reply = api.post("/coupon-templates", {
        "title": "秒杀券", "kind": "amount_off", "value": 500, "valid_days": 1, "total_stock": stock,
        "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=1)).isoformat()},
        as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


def test_a_payment_meeting_one_transaction_conflict_is_recorded_not_a_500(api: Api, admin: str,
                                                                          proxy: FaultProxy) -> None:
    assert api.put("/stores/S1", {**STORE, "member_day": None}, as_=admin).status == 200
    assert api.put("/members/me", {"nickname": "a"}, as_=token("member", "m1")).status == 200
    proxy.script("conflict", operation=TX)
    body = {"payment_id": "p1", "member_id": "m1", "store_id": "S1", "amount_fen": 900,
            "paid_at": datetime.now(UTC).isoformat()}
    reply = api.post("/payments", body, as_=admin)
    assert reply.status == 200 and reply.body["duplicate"] is False, reply.body
    assert sum(int(r.payments or 0) for r in StoreDayStats.query("S1", consistent_read=True)) == 1


def test_a_claim_whose_commit_answer_is_lost_is_issued_once_and_answered_201(api: Api, admin: str,
                                                                             proxy: FaultProxy) -> None:
    tid = flash(api, admin)
    proxy.script("lost", "lost", operation=TX)
    reply = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, as_=token("member", "m1"))
    assert reply.status == 201, reply.body
    held = [c for c in CouponRecord.scan(consistent_read=True) if c.template_id == tid]
    assert [c.coupon_id for c in held] == [reply.body["coupon_id"]]
    assert templates.stock_left(tid) == 2  # one unit, not two


def test_a_redemption_whose_commit_answer_is_lost_is_the_staffs_own_not_already_redeemed(
        api: Api, admin: str, proxy: FaultProxy) -> None:
    tid = flash(api, admin)
    code = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "S1"}, as_=token("member", "m1")).body["code"]
    clerk = token("staff", "clerk", store_id="S1")
    proxy.script("lost", "lost", operation=TX)
    reply = api.post("/redemptions", {"code": code}, as_=clerk)
    assert reply.status == 201, reply.body
    reversed_ = (proxy.script("lost", operation=TX),
                 api.post(f"/redemptions/{reply.body['redemption_id']}/reverse", as_=clerk))[1]
    assert reversed_.status == 200, reversed_.body


def test_a_post_whose_put_answer_is_lost_goes_out_now_not_after_the_lease(api: Api, proxy: FaultProxy) -> None:
    add_store("t1", idle_hour=None)
    advance_watermark(sh("11:55"))
    proxy.script("lost", operation="PutItem")
    at = sh("12:00")
    summary = run_tick(at, InProcessQueue(at, RecordChannel()))
    assert summary.outcome["posted"] == 1 and summary.outcome["duplicate"] == 0
    (post,) = posts.for_day("t1", DAY)
    assert post.status == "sent" and len(recorded("t1", post.post_id)) == 1
    assert proxy.counts["lost:PutItem"] == 1


def test_a_batch_of_posts_whose_create_answer_is_lost_goes_out_now_each_once(api: Api, proxy: FaultProxy) -> None:
    """The in-process fan-out creates a worker's batch in one transaction:
    its lost answer is re-sent with the same token (idempotent), so every
    post is ours and delivered now, none a duplicate, none twice."""
    for i in range(3):
        add_store(f"b{i}", idle_hour=None)
    advance_watermark(sh("11:55"))
    proxy.script("lost", operation=TX)  # the first transaction: the batch's creates
    at = sh("12:00")
    summary = run_tick(at, InProcessQueue(at, RecordChannel(), workers=1))
    assert summary.outcome["posted"] == 3 and summary.outcome["duplicate"] == 0
    for i in range(3):
        (post,) = posts.for_day(f"b{i}", DAY)
        assert post.status == "sent" and len(recorded(f"b{i}", post.post_id)) == 1
        assert int(StoreDayStats.get(f"b{i}", DAY.isoformat(), consistent_read=True).posts_sent or 0) == 1
    assert proxy.counts[f"lost:{TX}"] == 1


def test_a_guarded_store_edit_whose_answer_is_lost_is_saved_and_its_slots_refiled(
        api: Api, admin: str, proxy: FaultProxy) -> None:
    from chalicelib.campaigns.models import SlotIndexRecord

    created = api.put("/stores/S1", {**STORE, "member_day": None}, as_=admin)
    assert created.status == 200
    proxy.script("lost", operation="PutItem")
    reply = api.call("PATCH", "/stores/S1", {"timezone": "Asia/Urumqi"}, as_=admin,
                        headers={"If-Match": created.headers["ETag"]})
    assert reply.status == 200, reply.body  # was 412: the re-send met its own write's version
    assert reply.body["timezone"] == "Asia/Urumqi"
    filed = {item.timezone for item in SlotIndexRecord.scan(consistent_read=True) if item.store_id == "S1"}
    assert "Asia/Urumqi" in filed
