"""What a redemption costs on DynamoDB Local, counted from botocore's own
events: a scanned (v2) code is ONE request (the TransactWriteItems), a
refusal too; a v1 code or a typed short code is two. And the scope
condition the transaction carries agrees exactly with `rules.Scope.covers`."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import db
from chalicelib.clock import FixedClock, set_clock
from chalicelib.coupons import codes, redemptions, rules
from chalicelib.coupons.models import CouponRecord, RedemptionRecord
from chalicelib.settings import get_settings
from chalicelib.stores.models import StoreRecord
from chalicelib.txn import Refused, Transaction
from tests.api import Api, token

pytestmark = [pytest.mark.integration]

STORE = {"name": "徐汇店", "city": "上海", "lat": 31.19, "lng": 121.43, "traffic_tier": "high", "spend_tier": "low"}


@contextmanager
def requests_sent() -> Iterator[list[str]]:
    """The DynamoDB operations sent over HTTP while inside (retries included)."""
    sent: list[str] = []
    lock = threading.Lock()

    def record(event_name: str, **_: Any) -> None:
        with lock:
            sent.append(event_name.rsplit(".", 1)[-1])

    events = db.connection().client.meta.events
    events.register("before-send.dynamodb", record, unique_id="redemption-cost")
    try:
        yield sent
    finally:
        events.unregister("before-send.dynamodb", unique_id="redemption-cost")


@pytest.fixture
def shop(api: Api, admin: str) -> Api:
    for store_id, over in (("S1", {}), ("S2", {"traffic_tier": "low"})):
        assert api.put(f"/stores/{store_id}", {**STORE, **over}, as_=admin).status == 200
    return api


def template(api: Api, admin: str, **over: Any) -> str:
    now = datetime.now(UTC)
    body = {"title": "满50减5", "kind": "amount_off", "value": 500, "valid_days": 1, "per_member_limit": 5,
            "claim_start": (now - timedelta(hours=1)).isoformat(), "claim_end": (now + timedelta(hours=2)).isoformat(),
            **over}
    reply = api.post("/coupon-templates", body, as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


def claim(api: Api, tid: str, member: str = "m1", store_id: str = "S1") -> dict[str, Any]:
    reply = api.post(f"/coupon-templates/{tid}/claim", {"store_id": store_id}, as_=token("member", member))
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def test_a_scanned_code_is_redeemed_in_one_request(shop: Api, admin: str) -> None:
    tid = template(shop, admin, scope={"traffic_tiers": ["high"]}, min_spend_fen=2000)
    openid = "oX3kP-9aQz_7LmN2vB8cD4eF6gH1"  # a WeChat openid is 28 characters: its v2 code is > 128
    first, second = claim(shop, tid, "m1"), claim(shop, tid, openid)
    key = codes.derive_key(get_settings().jwt_secret)
    assert codes.read(second["code"], key).terms == codes.Terms(tid, openid, "amount_off", 500, 2000)
    assert 128 < len(second["code"]) <= codes.MAX_CODE_CHARS
    clerk = token("staff", "clerk1", "S1")
    assert shop.post("/redemptions", {"code": first["code"], "spend_fen": 3000}, as_=clerk).status == 201  # warm

    with requests_sent() as sent:
        reply = shop.post("/redemptions", {"code": second["code"], "spend_fen": 3000, "order_ref": "POS-2"},
                          as_=clerk)
    assert reply.status == 201, reply.body
    assert sent == ["TransactWriteItems"]
    assert (reply.body["coupon_id"], reply.body["template_id"], reply.body["member_id"],
            reply.body["discount_fen"]) == (second["coupon_id"], tid, openid, 500)
    stored = RedemptionRecord.get(reply.body["redemption_id"], consistent_read=True)
    assert (stored.template_id, stored.member_id, stored.store_day.split("#")[0]) == (tid, openid, "S1")
    coupon = CouponRecord.get(second["coupon_id"], consistent_read=True)
    assert (coupon.status, coupon.redemption_id) == ("redeemed", reply.body["redemption_id"])

    # a second scan: one request too, refused by the transaction, named from its ALL_OLD item
    with requests_sent() as sent:
        again = shop.post("/redemptions", {"code": second["code"], "spend_fen": 3000}, as_=clerk)
    assert again.error_code == "already_redeemed" and sent == ["TransactWriteItems"]


def test_the_transaction_refuses_a_store_out_of_scope_without_a_read(shop: Api, admin: str) -> None:
    by_id = claim(shop, template(shop, admin, scope={"store_ids": ["S1"]}))
    by_tier = claim(shop, template(shop, admin, scope={"traffic_tiers": ["high"]}))
    elsewhere = token("staff", "clerk2", "S2")  # S2 is a low-traffic store
    # warm this container's roster and S2 store-terms caches, as any redemption at S2 does
    warm = claim(shop, template(shop, admin), "m9", "S2")
    assert shop.post("/redemptions", {"code": warm["code"]}, as_=elsewhere).status == 201
    for held in (by_id, by_tier):
        with requests_sent() as sent:
            refused = shop.post("/redemptions", {"code": held["code"]}, as_=elsewhere)
        assert (refused.status, refused.error_code) == (403, "wrong_store"), refused.body
        assert sent == ["TransactWriteItems"]  # the whole refused redemption: no read before or after
        assert CouponRecord.get(held["coupon_id"], consistent_read=True).status == "claimed"  # nothing written
        assert shop.post("/redemptions", {"code": held["code"]}, as_=token("staff", "clerk1", "S1")).status == 201


def test_refusals_keep_their_precedence_over_min_spend(shop: Api, admin: str) -> None:
    """Wrong store, already redeemed and expired are named before min spend,
    as before codes carried terms (a v2 code falls back to a read then)."""
    clock = FixedClock(datetime.now(UTC))
    set_clock(clock)
    tid = template(shop, admin, scope={"store_ids": ["S1"]}, min_spend_fen=5000)
    held = claim(shop, tid)
    clerk1, clerk2 = token("staff", "clerk1", "S1"), token("staff", "clerk2", "S2")
    assert shop.post("/redemptions", {"code": held["code"], "spend_fen": 100}, as_=clerk2).error_code == "wrong_store"
    assert shop.post("/redemptions", {"code": held["code"], "spend_fen": 100},
                     as_=clerk1).error_code == "min_spend_not_met"
    assert shop.post("/redemptions", {"code": held["code"], "spend_fen": 6000}, as_=clerk1).status == 201
    assert shop.post("/redemptions", {"code": held["code"], "spend_fen": 100},
                     as_=clerk1).error_code == "already_redeemed"
    later = claim(shop, tid, "m2")
    clock.advance(days=2)
    for spend in (100, 6000):
        assert shop.post("/redemptions", {"code": later["code"], "spend_fen": spend},
                         as_=clerk1).error_code == "expired"


def test_v1_codes_and_short_codes_still_redeem_in_two_requests(shop: Api, admin: str) -> None:
    tid = template(shop, admin)
    old, typed = claim(shop, tid, "m1"), claim(shop, tid, "m2")
    clerk = token("staff", "clerk1", "S1")
    shop.get("/stores/S1/redemptions", as_=clerk)  # warm the roster cache
    v1 = codes.sign(old["coupon_id"], codes.derive_key(get_settings().jwt_secret))  # a code issued before v2
    with requests_sent() as sent:
        reply = shop.post("/redemptions", {"code": v1}, as_=clerk)
    assert reply.status == 201 and reply.body["member_id"] == "m1"
    assert sent == ["GetItem", "TransactWriteItems"]
    with requests_sent() as sent:
        reply = shop.post("/redemptions", {"code": typed["short_code"]}, as_=clerk)
    assert reply.status == 201 and reply.body["coupon_id"] == typed["coupon_id"]
    assert sent == ["BatchGetItem", "TransactWriteItems"]
    assert shop.post("/redemptions", {"code": typed["short_code"]}, as_=clerk).error_code == "already_redeemed"
    preview = shop.post("/redemptions/preview", {"code": typed["short_code"]}, as_=clerk)
    assert preview.status == 200 and preview.body["refusal"]["code"] == "already_redeemed"


def test_the_scope_condition_agrees_with_scope_covers_exhaustively(ddb_env: dict[str, str]) -> None:
    """Every scope over a small universe (store ids, both tier lists; empty
    lists stored as [] and, for coupons of older code, absent) against every
    kind of store: one ConditionCheck per coupon, one transaction per store."""
    ids, tiers = ("S1", "S2"), ("high", "low")

    def subsets(values: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [c for n in range(len(values) + 1) for c in itertools.combinations(values, n)]

    scopes = [rules.Scope.of(s, t, p) for s in subsets(ids) for t in subsets(tiers) for p in subsets(tiers)]
    now = datetime.now(UTC)
    coupons: dict[str, rules.Scope] = {}
    for i, scope in enumerate(scopes):
        for absent in (False, True):
            coupon = CouponRecord(
                f"{i:012x}{int(absent):012x}", member_id="m", template_id="t", store_id="S1", timezone="Asia/Shanghai",
                title="t", kind="amount_off", value=1, min_spend_fen=0, claimed_at=now,
                expires_at=now + timedelta(days=1), status="claimed", scope_store_ids=sorted(scope.store_ids),
                scope_traffic_tiers=sorted(scope.traffic_tiers), scope_spend_tiers=sorted(scope.spend_tiers))
            item = coupon.serialize()
            if absent:  # written before the lists were always stored
                item = {k: v for k, v in item.items() if v != {"L": []}}
            db.connection().client.put_item(TableName=CouponRecord.Meta.table_name, Item=item)
            coupons[coupon.coupon_id] = scope
    stores = [StoreRecord(s, traffic_tier=t, spend_tier=p) for s in ("S1", "S3") for t in tiers for p in tiers]
    assert len(coupons) == 128 and len(stores) == 8
    for store in stores:
        refused: set[str] = set()
        for batch in (list(coupons)[:64], list(coupons)[64:]):  # ConditionChecks per transaction: 100 at most
            tx = Transaction()
            for coupon_id in batch:
                tx.check(coupon_id, CouponRecord, coupon_id, condition=redemptions.in_scope(store))
            try:
                tx.commit()
            except Refused as exc:
                refused |= set(exc.failed)
        expected = {cid for cid, scope in coupons.items()
                    if not scope.covers(store.store_id, store.traffic_tier, store.spend_tier)}
        assert refused == expected, store.attribute_values
        assert 0 < len(expected) < len(coupons)
