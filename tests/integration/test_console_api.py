"""The API the console uses, on DynamoDB Local: cursor lists (no
duplicates or misses while items are inserted), ETag / If-Match, template
lifecycle, previews, short codes and their wrong-guess limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.coupons.short_codes import WRONG_GUESS_LIMIT
from tests.api import Api, token

pytestmark = [pytest.mark.integration]

STORE = {"name": "徐汇店", "city": "上海", "lat": 31.19, "lng": 121.43, "traffic_tier": "high", "spend_tier": "low"}


def store(api: Api, admin: str, store_id: str, **over: Any) -> dict[str, Any]:
    reply = api.put(f"/stores/{store_id}", {**STORE, **over}, as_=admin)
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


def template(api: Api, admin: str, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {"title": "满50减5", "kind": "amount_off", "value": 500, "valid_days": 1,
            "claim_start": (now - timedelta(hours=1)).isoformat(),
            "claim_end": (now + timedelta(hours=2)).isoformat(), **over}
    reply = api.post("/coupon-templates", body, as_=admin)
    assert reply.status == 201, reply.body
    return reply.body  # type: ignore[no-any-return]


def staff_token(api: Api, admin: str, staff_id: str, store_id: str) -> str:
    """A staff token for someone on the roster (the API refuses others)."""
    assert api.put(f"/staff/{staff_id}", {"store_id": store_id}, as_=admin).status == 200
    return token("staff", staff_id, store_id=store_id)


def all_pages(api: Api, path: str, key: str, admin: str, on_page: Any = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        sep = "&" if "?" in path else "?"
        reply = api.get(path + (f"{sep}cursor={cursor}" if cursor else ""), as_=admin)
        assert reply.status == 200, reply.body
        items += reply.body[key]
        if on_page:
            on_page(len(items))
        cursor = reply.body["next_cursor"]
        if not cursor:
            return items


def test_store_list_pages_see_every_store_once_while_stores_are_added(api: Api, admin: str) -> None:
    for i in range(23):
        store(api, admin, f"S{i:03d}", city="上海" if i % 2 else "杭州")
    added: list[str] = []

    def insert_more(seen: int) -> None:  # new stores sort after the cursor (S5xx) and before it (A...)
        sid = f"S5{seen:02d}"
        store(api, admin, sid, city="上海")
        added.append(sid)

    ids = [s["store_id"] for s in all_pages(api, "/stores?limit=4&city=上海", "stores", admin, insert_more)]
    assert len(ids) == len(set(ids)), "a store appeared twice"
    originals = {f"S{i:03d}" for i in range(23) if i % 2}
    assert originals <= set(ids), "a store present all along was missed"
    assert set(ids) <= originals | set(added)
    hz = all_pages(api, "/stores?limit=5&city=杭州&traffic_tier=high&q=S01", "stores", admin)
    assert {s["store_id"] for s in hz} == {f"S01{i}" for i in range(10) if i % 2 == 0}


def test_a_forged_or_foreign_cursor_is_400(api: Api, admin: str) -> None:
    for i in range(3):
        store(api, admin, f"C{i}")
    page = api.get("/stores?limit=1", as_=admin).body
    cursor = page["next_cursor"]
    assert cursor
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    assert api.get(f"/stores?limit=1&cursor={tampered}", as_=admin).error_code == "validation_error"
    assert api.get(f"/coupon-templates?cursor={cursor}", as_=admin).status == 400  # another list's cursor
    assert api.get(f"/stores?limit=1&city=上海&cursor={cursor}", as_=admin).status == 400


def test_store_etag_if_match_and_merge_patch(api: Api, admin: str) -> None:
    body = store(api, admin, "E1")
    read = api.get("/stores/E1", as_=admin)
    etag = read.headers["ETag"]
    assert api.put("/stores/E1", read.body, as_=admin, headers={"If-Match": etag}).status == 200  # GET → PUT
    stale = api.call("PATCH", "/stores/E1", {"name": "改名"}, as_=admin, headers={"If-Match": etag})
    assert stale.status == 412 and stale.error_code == "precondition_failed"
    fresh = api.get("/stores/E1", as_=admin).headers["ETag"]
    ok = api.call("PATCH", "/stores/E1", {"name": "改名", "idle_hour": None}, as_=admin, headers={"If-Match": fresh})
    assert ok.status == 200 and ok.body["name"] == "改名" and ok.body["city"] == body["city"]
    assert ok.headers["ETag"] != fresh
    bad = api.call("PATCH", "/stores/E1", {"radius_m": -1}, as_=admin)
    assert bad.status == 400 and bad.body["error"]["details"][0]["field"] == "radius_m"


def test_template_pause_refuses_claims_and_resume_allows_them(api: Api, admin: str) -> None:
    store(api, admin, "P1")
    tpl = template(api, admin, scope={"traffic_tiers": ["high"]}, total_stock=5)
    tid = tpl["template_id"]
    member = token("member", "m-pause")
    paused = api.post(f"/coupon-templates/{tid}/pause", as_=admin)
    assert paused.status == 200 and paused.body["status"] == "paused"
    refused = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "P1"}, as_=member)
    assert refused.status == 409 and refused.error_code == "template_paused"
    listed = api.get("/coupon-templates?status=paused", as_=admin).body["templates"]
    assert [t["template_id"] for t in listed] == [tid]
    assert api.get("/stores/P1/offers/preview", as_=admin).body["offers"] == []
    stale = api.post(f"/coupon-templates/{tid}/resume", as_=admin, headers={"If-Match": '"v1"'})
    assert stale.status == 412
    resumed = api.post(f"/coupon-templates/{tid}/resume", as_=admin, headers={"If-Match": paused.headers["ETag"]})
    assert resumed.status == 200 and resumed.body["status"] == "active"
    claimed = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "P1"}, as_=member)
    assert claimed.status == 201 and len(claimed.body["short_code"]) == 10
    assert api.get(f"/coupon-templates/{tid}", as_=admin).body["remaining"] == 4


def test_template_get_is_a_valid_put_and_patch_is_guarded(api: Api, admin: str) -> None:
    tpl = template(api, admin)
    tid = tpl["template_id"]
    read = api.get(f"/coupon-templates/{tid}", as_=admin)
    etag = read.headers["ETag"]
    put = api.put(f"/coupon-templates/{tid}", read.body, as_=admin, headers={"If-Match": etag})
    assert put.status == 200, put.body
    again = api.call("PATCH", f"/coupon-templates/{tid}", {"title": "新标题"}, as_=admin, headers={"If-Match": etag})
    assert again.status == 412
    ok = api.call("PATCH", f"/coupon-templates/{tid}", {"title": "新标题"}, as_=admin,
                  headers={"If-Match": put.headers["ETag"]})
    assert ok.status == 200 and ok.body["title"] == "新标题" and ok.body["value"] == 500
    copy = api.post(f"/coupon-templates/{tid}/copy", {"title": "副本"}, as_=admin)
    assert copy.status == 201 and copy.body["template_id"] != tid and copy.body["value"] == 500


def test_template_list_filters_by_store_scope_and_kind(api: Api, admin: str) -> None:
    store(api, admin, "F1", traffic_tier="high")
    store(api, admin, "F2", traffic_tier="low")
    high = template(api, admin, scope={"traffic_tiers": ["high"]})["template_id"]
    only_f2 = template(api, admin, scope={"store_ids": ["F2"]}, kind="percent_off", value=10)["template_id"]
    everywhere = template(api, admin)["template_id"]
    f1 = {t["template_id"] for t in all_pages(api, "/coupon-templates?limit=1&store_id=F1", "templates", admin)}
    assert f1 == {high, everywhere}
    pct = api.get("/coupon-templates?kind=percent_off", as_=admin).body["templates"]
    assert [t["template_id"] for t in pct] == [only_f2]


def redeemable_coupon(api: Api, admin: str, store_id: str = "R1") -> tuple[dict[str, Any], str]:
    store(api, admin, store_id)
    tid = template(api, admin)["template_id"]
    member = token("member", f"m-{store_id}")
    claimed = api.post(f"/coupon-templates/{tid}/claim", {"store_id": store_id}, as_=member)
    assert claimed.status == 201, claimed.body
    return claimed.body, staff_token(api, admin, f"staff-{store_id}", store_id)


def test_preview_changes_nothing_then_short_code_redeems_and_reverses(api: Api, admin: str) -> None:
    coupon, staff = redeemable_coupon(api, admin)
    first = api.post("/redemptions/preview", {"code": coupon["short_code"]}, as_=staff)
    assert first.status == 200 and first.body["redeemable"] and first.body["discount_fen"] == 500
    assert api.post("/redemptions/preview", {"code": coupon["code"]}, as_=staff).body == first.body
    done = api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff)
    assert done.status == 201, done.body
    after = api.post("/redemptions/preview", {"code": coupon["short_code"]}, as_=staff).body
    assert not after["redeemable"] and after["refusal"]["code"] == "already_redeemed"
    assert api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff).error_code == "already_redeemed"
    store(api, admin, "R2", traffic_tier="low")
    other = staff_token(api, admin, "staff-x", "R2")
    assert api.post(f"/redemptions/{done.body['redemption_id']}/reverse", as_=staff).status == 200
    assert api.post("/redemptions/preview", {"code": coupon["short_code"]}, as_=other).body["redeemable"]


def test_wrong_short_codes_are_limited_per_staff(api: Api, admin: str) -> None:
    coupon, staff = redeemable_coupon(api, admin, "G1")
    wrong = "1" + str((int(coupon["short_code"][1:]) + 1) % 10**9).zfill(9)
    codes = [api.post("/redemptions/preview", {"code": wrong}, as_=staff).error_code for _ in range(WRONG_GUESS_LIMIT)]
    assert codes == ["invalid_code"] * WRONG_GUESS_LIMIT
    locked = api.post("/redemptions/preview", {"code": coupon["short_code"]}, as_=staff)
    assert locked.status == 429 and locked.error_code == "too_many_attempts"
    assert 1 <= int(locked.headers["Retry-After"]) <= 600
    assert api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff).status == 429
    assert api.post("/redemptions", {"code": coupon["code"]}, as_=staff).status == 201  # the QR still works
    colleague = staff_token(api, admin, "staff-G1-b", "G1")
    assert api.post("/redemptions/preview", {"code": coupon["short_code"]}, as_=colleague).status == 200


def test_staff_roster_list_and_patch(api: Api, admin: str) -> None:
    store(api, admin, "T1")
    store(api, admin, "T2")
    for i in range(5):
        assert api.put(f"/staff/st{i}", {"store_id": "T1"}, as_=admin).status == 200
    roster = all_pages(api, "/stores/T1/staff?limit=2", "staff", admin)
    assert [s["staff_id"] for s in roster] == [f"st{i}" for i in range(5)]
    read = api.get("/staff/st0", as_=admin)
    moved = api.call("PATCH", "/staff/st0", {"store_id": "T2"}, as_=admin, headers={"If-Match": read.headers["ETag"]})
    assert moved.status == 200 and moved.body["role"] == "clerk"
    assert api.call("PATCH", "/staff/st0", {"role": "manager"}, as_=admin,
                    headers={"If-Match": read.headers["ETag"]}).status == 412
    assert [s["staff_id"] for s in all_pages(api, "/stores/T2/staff", "staff", admin)] == ["st0"]


def test_cors_headers_only_for_configured_origins(api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.settings import reset_settings

    store(api, admin, "O1")
    assert "Access-Control-Allow-Origin" not in api.get("/stores/O1", as_=admin, headers={"Origin": "https://x"}).headers
    monkeypatch.setenv("STORELOOP_CORS_ORIGINS", "https://console.example")
    reset_settings()
    allowed = api.get("/stores/O1", as_=admin, headers={"Origin": "https://console.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://console.example"
    assert "Access-Control-Allow-Origin" not in api.get("/stores/O1", as_=admin, headers={"Origin": "https://x"}).headers


def test_short_codes_stay_unique_when_concurrent_claims_collide(ddb_env: dict[str, str], admin: str,
                                                                  api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """400 concurrent claims drawing digits from a pool of only 600 codes:
    collisions are certain, and each one must cancel its claim and retry
    with new digits, never give two live coupons one code."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.clock import get_clock
    from chalicelib.coupons import claims, short_codes
    from chalicelib.coupons.models import ShortCodeRecord

    store(api, admin, "K1")
    tid = template(api, admin)["template_id"]
    pool = [str(10**9 + i) for i in range(600)]
    monkeypatch.setattr(short_codes, "new_code", lambda: random.choice(pool))
    with ThreadPoolExecutor(16) as threads:
        coupons = list(threads.map(lambda i: claims.claim(tid, "K1", f"mk{i}", get_clock().now()), range(400)))
    codes = [c.short_code for c in coupons]
    assert len(set(codes)) == 400
    for coupon in coupons[:50]:
        assert ShortCodeRecord.get(coupon.short_code, consistent_read=True).coupon_id == coupon.coupon_id


def test_chain_and_template_stats_per_day_and_csv_exports(api: Api, admin: str) -> None:
    coupon, staff = redeemable_coupon(api, admin, "Q1")
    store(api, admin, "Q2", traffic_tier="low")
    tid = coupon["template_id"]
    assert api.post(f"/coupon-templates/{tid}/claim", {"store_id": "Q2"}, as_=token("member", "m-q2")).status == 201
    assert api.post("/redemptions", {"code": coupon["short_code"], "spend_fen": 4200}, as_=staff).status == 201
    chain = api.get("/stats/chain", as_=admin).body
    assert len(chain["days"]) == 7  # the default range ends today
    today = chain["days"][-1]
    assert (today["coupons_claimed"], today["coupons_redeemed"], today["stores_reporting"]) == (2, 1, 2)
    assert today["redemption_rate"] == 0.5
    tiers = {(t["dimension"], t["tier"]): t for t in api.get("/stats/chain/tiers", as_=admin).body["tiers"]}
    assert tiers[("traffic_tier", "high")]["redemption_rate"] == 1.0  # Q1: claimed 1, redeemed 1
    low, spend_low = tiers[("traffic_tier", "low")], tiers[("spend_tier", "low")]
    assert (low["coupons_claimed"], low["coupons_redeemed"]) == (1, 0)
    assert (spend_low["redemption_rate"], spend_low["stores_reporting"]) == (0.5, 2)
    tpl = api.get(f"/stats/templates/{tid}", as_=admin).body["days"][-1]
    assert (tpl["claims"], tpl["redemptions"], tpl["gmv_influenced_fen"]) == (2, 1, 4200)
    assert api.get("/stats/templates/nope", as_=admin).status == 404
    assert api.get("/stats/chain?from=2026-01-01&to=2026-03-01", as_=admin).error_code == "validation_error"
    for path, who in (("/stores/Q1/redemptions/export", staff), ("/stats/chain/export", admin),
                      (f"/stats/stores/Q1/export?from={today['day']}&to={today['day']}", admin)):
        reply = api.get(path, as_=who)
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/csv"), path
    assert api.get("/stores/Q1/redemptions/export", as_=staff_token(api, admin, "x", "Q2")).status == 403


def test_redemption_and_post_history_pages_across_days(api: Api, admin: str) -> None:
    from chalicelib.clock import FixedClock, set_clock

    clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    set_clock(clock)
    store(api, admin, "H1")
    staff = staff_token(api, admin, "staff-H1", "H1")
    body = {"title": "历史券", "kind": "amount_off", "value": 300, "valid_days": 10,
            "claim_start": "2026-11-19T00:00:00+08:00", "claim_end": "2026-11-30T00:00:00+08:00"}
    tid = api.post("/coupon-templates", {**body, "per_member_limit": 10}, as_=admin).body["template_id"]
    made = []
    for day in range(3):  # 2, 1 and 2 redemptions on three local days
        for _ in range((2, 1, 2)[day]):
            coupon = api.post(f"/coupon-templates/{tid}/claim", {"store_id": "H1"}, as_=token("member", "mh")).body
            made.append(api.post("/redemptions", {"code": coupon["short_code"]}, as_=staff).body["redemption_id"])
            clock.advance(minutes=5)
        clock.advance(days=1)
    seen = [r["redemption_id"] for r in all_pages(
        api, "/stores/H1/redemptions/history?from=2026-11-19&to=2026-11-23&limit=2", "redemptions", staff)]
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert seen[0] == made[-1]  # newest first
    posts = api.get("/stores/H1/posts/history?from=2026-11-01&to=2026-11-30", as_=staff)
    assert posts.status == 200 and posts.body["next_cursor"] is None
    assert api.get("/stores/H1/posts/history?from=2026-11-02&to=2026-11-01", as_=staff).status == 400


def test_the_offers_preview_applies_segment_audiences_as_well_as_tier_ones(api: Api, admin: str) -> None:
    store(api, admin, "V1")
    for_champions = template(api, admin, title="冠军专享", audience={"segments": ["champion"]})["template_id"]
    for_loyal = template(api, admin, title="忠诚专享", audience={"tiers": ["loyal"]})["template_id"]

    def seen(query: str) -> set[str]:
        reply = api.get(f"/stores/V1/offers/preview{query}", as_=admin)
        assert reply.status == 200, reply.body
        return {o["template_id"] for o in reply.body["offers"]}

    assert seen("") == set()
    assert seen("?tier=active") == set()  # a segment-only offer is not shown to every tier
    assert seen("?tier=loyal") == {for_loyal}
    assert seen("?tier=active&segment=champion") == {for_champions}
    assert api.get("/stores/V1/offers/preview?segment=nobody", as_=admin).status == 400
