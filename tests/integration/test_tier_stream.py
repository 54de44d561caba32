"""Member-tier figures from the coupons stream, on DynamoDB Local: claims,
redemptions and a reversal over the API, the stream drained by
devtools/stream_poller.py (as Lambda's event source mapping would), the
by-tier counters exact, and the same batches delivered again (and the whole
stream re-read from its start) changing nothing. And the point of it all:
a claim by a member never seen is one DynamoDB request."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import db
from chalicelib.clock import get_clock
from chalicelib.coupons import claims
from chalicelib.coupons.models import CouponRecord
from chalicelib.stats import tier_stream
from chalicelib.stats.models import MEMBER_TIERS, StoreDayStats, TierMark
from devtools.stream_poller import default_handler, for_settings
from tests.api import Api, token
from tests.integration.test_console_api import staff_token, store, template
from tests.integration.test_console_stats import by_tier, pay
from tests.integration.test_function_access import granted, recording

pytestmark = [pytest.mark.integration]


def counters(store_id: str) -> dict[str, int]:
    rows = list(StoreDayStats.query(store_id, consistent_read=True))
    return {f"{kind}_{tier}": sum(int(getattr(r, f"{kind}_{tier}") or 0) for r in rows)
            for kind in ("claimed", "redeemed", "reversed") for tier in MEMBER_TIERS
            if any(getattr(r, f"{kind}_{tier}") for r in rows)}


def test_the_stream_consumer_counts_each_event_once_by_the_tier_at_claim(api: Api, admin: str,
                                                                       ddb_env: dict[str, str]) -> None:
    store(api, admin, "TS1")
    store(api, admin, "TS2", traffic_tier="low")
    tid = template(api, admin, per_member_limit=3)["template_id"]
    pay(api, admin, "ts-loyal", "TS1", 4)
    pay(api, admin, "ts-active", "TS1", 1)

    def claim(member: str, store_id: str) -> dict[str, Any]:
        reply = api.post(f"/coupon-templates/{tid}/claim", {"store_id": store_id}, as_=token("member", member))
        assert reply.status == 201, reply.body
        return reply.body  # type: ignore[no-any-return]

    def redeem(coupon: dict[str, Any], staff: str) -> str:
        reply = api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff)
        assert reply.status == 201, reply.body
        return str(reply.body["redemption_id"])

    new = [claim(f"ts-new{i}", "TS1") for i in range(3)]
    loyal = claim("ts-loyal", "TS1")
    active = claim("ts-active", "TS2")
    staff1, staff2 = staff_token(api, admin, "ts-s1", "TS1"), staff_token(api, admin, "ts-s2", "TS2")
    redeem(new[0], staff1)
    redeem(loyal, staff2)  # redeemed at TS2: counted on TS2's row, under the tier at claim
    first = redeem(active, staff2)
    assert api.post(f"/redemptions/{first}/reverse", as_=staff2).status == 200
    redeem(active, staff2)  # redeemed again after the reversal: a new redemption, counted again
    # a change that is neither a claim, a redemption nor a reversal is not counted
    CouponRecord(new[1]["coupon_id"]).update(actions=[CouponRecord.title.set("renamed")])

    batches: list[dict[str, Any]] = []

    def recorded(event: dict[str, Any]) -> dict[str, Any]:
        batches.append(event)
        return default_handler(event)

    poller = for_settings()
    poller.handler = recorded
    with recording(ddb_env["STORELOOP_TABLE_PREFIX"]) as calls:
        assert poller.drain() == 5 + 3 + 1 + 1 + 1  # 5 INSERTs, 3 redemptions, 1 reversal, 1 re-redemption, rename
    # least privilege: the deployed function's role (infra/access.py) grants every call it made
    assert calls.used and not sorted(call for call in calls.used if not granted("stats_member_tiers", *call))
    expected_ts1 = {"claimed_new": 3, "redeemed_new": 1, "claimed_loyal": 1}
    expected_ts2 = {"redeemed_loyal": 1, "claimed_active": 1, "redeemed_active": 2, "reversed_active": 1}
    assert counters("TS1") == expected_ts1
    assert counters("TS2") == expected_ts2
    assert by_tier(api.get("/stats/stores/TS2/member-tiers", as_=admin)) == {
        "new": (0, 0, None), "active": (1, 1, 1.0), "loyal": (0, 1, None), "at_risk": (0, 0, None)}
    chain = by_tier(api.get("/stats/chain/member-tiers", as_=admin))
    assert chain["new"] == (3, 1, 0.3333) and chain["loyal"] == (1, 1, 1.0) and chain["active"] == (1, 1, 1.0)
    # the claim's mark remembers the tier for the coupon's later events
    assert TierMark.get(loyal["coupon_id"], "claimed", consistent_read=True).tier == "loyal"

    # Lambda delivers at least once: the same batches again count nothing
    for batch in batches:
        again = tier_stream.handle(batch["Records"])
        assert again.counted == 0 and again.failed_sequence is None
        assert again.duplicates + again.ignored == len(batch["Records"])
    # and a consumer starting over from the stream's trim horizon neither
    fresh = for_settings()
    assert fresh.drain() == poller.delivered
    assert counters("TS1") == expected_ts1 and counters("TS2") == expected_ts2


def test_a_failing_record_is_retried_from_where_it_failed(api: Api, admin: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store(api, admin, "TF1")
    tid = template(api, admin)["template_id"]
    for i in range(4):
        assert api.post(f"/coupon-templates/{tid}/claim", {"store_id": "TF1"},
                        as_=token("member", f"tf{i}")).status == 201
    real = tier_stream._commit_run
    calls = Counter[str]()

    def flaky(run: list[tier_stream.Planned], outcome: tier_stream.Outcome) -> None:
        for planned in run:
            calls[planned.event.member_id] += 1
        if calls["tf2"] == 1:
            raise RuntimeError("DynamoDB hiccup")
        real(run, outcome)

    monkeypatch.setattr(tier_stream, "_commit_run", flaky)
    poller = for_settings()
    poller.drain()
    assert counters("TF1") == {"claimed_new": 4}
    assert calls == {"tf0": 2, "tf1": 2, "tf2": 2, "tf3": 2}  # one run (one counter row), retried whole


def test_a_claim_by_a_member_never_seen_is_one_dynamodb_request(api: Api, admin: str) -> None:
    store(api, admin, "TQ1")
    tid = template(api, admin, total_stock=100)["template_id"]
    claims.claim(tid, "TQ1", "tq-warm", get_clock().now())  # this container's cached terms: template and store
    requests: Counter[str] = Counter()
    lock = threading.Lock()

    def meter(model: Any, **_: Any) -> None:
        with lock:
            requests[model.name] += 1

    client = db.connection().client
    client.meta.events.register("after-call.dynamodb", meter)
    try:
        coupons = [claims.claim(tid, "TQ1", f"tq-never-seen-{i}", get_clock().now()) for i in range(5)]
    finally:
        client.meta.events.unregister("after-call.dynamodb", meter)
    assert requests == {"TransactWriteItems": 5}  # no member GetItem, no payments Query: 1.00 per claim
    for_settings().drain()
    assert counters("TQ1") == {"claimed_new": 6}
    assert all(TierMark.get(c.coupon_id, "claimed", consistent_read=True).tier == "new" for c in coupons)
    assert datetime.now(UTC) - coupons[0].claimed_at < timedelta(minutes=5)


def test_a_following_poller_waits_for_the_table_the_stack_is_still_creating(api: Api) -> None:
    import boto3

    from chalicelib.settings import get_settings
    from devtools.stream_poller import StreamPoller

    settings = get_settings()
    assert settings.dynamodb_endpoint
    name = f"late-coupons-{datetime.now(UTC).timestamp():.0f}"
    started: dict[str, Any] = {}
    waiting = threading.Thread(target=lambda: started.setdefault("poller", StreamPoller(
        name, settings.dynamodb_endpoint or "", settings.region, wait_s=30.0)))
    waiting.start()
    waiting.join(1.0)
    assert waiting.is_alive()  # no table yet: still waiting, not crashed
    boto3.client("dynamodb", endpoint_url=settings.dynamodb_endpoint, region_name=settings.region).create_table(
        TableName=name, KeySchema=[{"AttributeName": "coupon_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "coupon_id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    waiting.join(30.0)
    assert "poller" in started and started["poller"].stream_arn
