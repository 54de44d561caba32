"""What a client sends back must keep working (review of the HTTP sweep's
fixes): a GET body PATCHed or PUT back, with fields the server works out
having moved (stock left, `open_now`, versions, a template's status as its
claim window closes) or an instant in another format, is accepted; real
names (Uyghur isolates, WeChat's reversed nicknames, emoji) are accepted;
a plain number in a CSV cell is not prefixed as a formula."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from chalicelib.clock import FixedClock, set_clock
from tests.api import Api, token
from tests.functional.test_coupons_api import claim, template

STORE = {"name": "店", "city": "上海市", "lat": 31.2, "lng": 121.4}


def test_template_get_body_patched_back_unchanged(api: Api, admin: str) -> None:
    tid = api.post("/coupon-templates", template(total_stock=100), as_=admin).body["template_id"]
    read = api.get(f"/coupon-templates/{tid}", as_=admin)
    reply = api.call("PATCH", f"/coupon-templates/{tid}", {**read.body, "title": "改"}, as_=admin,
                     headers={"If-Match": read.headers["ETag"]})
    assert reply.status == 200, reply.body


def test_template_patch_only_remaining_as_read(api: Api, admin: str) -> None:
    tid = api.post("/coupon-templates", template(total_stock=100), as_=admin).body["template_id"]
    read = api.get(f"/coupon-templates/{tid}", as_=admin).body
    reply = api.call("PATCH", f"/coupon-templates/{tid}", {"remaining": read["remaining"], "title": "改"}, as_=admin)
    assert reply.status == 200, reply.body


def test_store_patch_with_equivalent_updated_at(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    read = api.get("/stores/s1", as_=admin).body
    at = datetime.fromisoformat(read["updated_at"]).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    reply = api.call("PATCH", "/stores/s1", {"updated_at": at.isoformat(), "radius_m": 800}, as_=admin)
    assert reply.status == 200, reply.body


def test_store_patch_with_js_millisecond_updated_at(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    read = api.get("/stores/s1", as_=admin).body
    at = datetime.fromisoformat(read["updated_at"])
    js = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"  # Date.prototype.toISOString
    reply = api.call("PATCH", "/stores/s1", {**read, "radius_m": 800}, as_=admin)
    read = api.get("/stores/s1", as_=admin).body
    at = datetime.fromisoformat(read["updated_at"])
    js = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
    reply = api.call("PATCH", "/stores/s1", {**read, "updated_at": js, "radius_m": 700}, as_=admin)
    assert reply.status == 200, reply.body


def test_store_get_body_patched_back_after_open_now_flips(api: Api, admin: str) -> None:
    set_clock(FixedClock(datetime(2026, 11, 27, 13, 59, tzinfo=UTC)))  # FRI 21:59 Shanghai
    api.put("/stores/s1", {**STORE, "hours": {"FRI": ["10:00-22:00"]}}, as_=admin)
    read = api.get("/stores/s1", as_=admin)
    set_clock(FixedClock(datetime(2026, 11, 27, 14, 1, tzinfo=UTC)))  # 22:01
    reply = api.call("PATCH", "/stores/s1", {**read.body, "radius_m": 800}, as_=admin,
                     headers={"If-Match": read.headers["ETag"]})
    assert reply.status == 200, reply.body


def test_staff_patch_with_equivalent_tokens_valid_after(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    api.put("/staff/st1", {"store_id": "s1"}, as_=admin)
    read = api.get("/staff/st1", as_=admin).body
    at = datetime.fromisoformat(read["updated_at"]).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    reply = api.call("PATCH", "/staff/st1", {**read, "updated_at": at.isoformat(), "role": "manager"}, as_=admin)
    assert reply.status == 200, reply.body


def test_real_names(api: Api, admin: str) -> None:
    names = ["星巴克（南京西路店）", "全家 FamilyMart 静安寺店", "👨‍👩‍👧 亲子店", "🏳️‍🌈 Pride",
             "ＡＢＣ　全角店", "喀什 قەشقەر", "\u2068قەشقەر\u2069 喀什", "\u202bقەشقەر\u202c",
             "O'Brien's Café", "Smith & Sons", "ئۈرۈمچى", "مرحبا\u200f", "한국어 가게", "ห้าง"]
    bad = {}
    for i, n in enumerate(names):
        r = api.put(f"/stores/s{i}", {**STORE, "name": n, "city": n}, as_=admin)
        if r.status != 200:
            bad[n] = r.status
        r = api.put("/members/me", {"nickname": n}, as_=token("member", f"m{i}"))
        if r.status != 200:
            bad[n + " (nick)"] = r.status
    assert not bad


def test_float_integers_still_accepted(api: Api, admin: str) -> None:
    r = api.post("/coupon-templates", template(value=1000.0, per_member_limit=1.0, min_spend_fen=5000.0), as_=admin)
    assert r.status == 201, r.body
    r = api.put("/stores/s1", {**STORE, "radius_m": 1000.0, "lat": 31, "lng": 121}, as_=admin)
    assert r.status == 200


def test_csv_text_that_is_not_a_formula(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    now = datetime.now(UTC)
    tid = api.post("/coupon-templates", template(min_spend_fen=0, per_member_limit=5,
                                                 claim_start=(now - timedelta(days=1)).isoformat(),
                                                 claim_end=(now + timedelta(days=1)).isoformat()),
                   as_=admin).body["template_id"]
    refs = ["-1001", "+8613800000000", "@shop", "- 2 items"]
    for ref in refs:
        code = claim(api, tid, "s1", token("member", "m1")).body["code"]
        assert api.post("/redemptions", {"code": code, "order_ref": ref}, as_=token("staff", "st1", "s1")).status == 201
    reply = api.get("/stores/s1/redemptions/export", as_=admin)
    rows = list(csv.DictReader(io.StringIO(reply.body.lstrip("\ufeff"))))
    # plain signed numbers run nothing: kept as sent; text a spreadsheet would run is prefixed
    assert sorted(r["order_ref"] for r in rows) == sorted(["-1001", "+8613800000000", "'@shop", "'- 2 items"])


def test_store_get_body_patched_back_after_a_concurrent_edit_without_if_match(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    read = api.get("/stores/s1", as_=admin).body
    api.call("PATCH", "/stores/s1", {"radius_m": 900}, as_=admin)  # someone else
    reply = api.call("PATCH", "/stores/s1", {**read, "name": "新店名"}, as_=admin)
    assert reply.status == 200, reply.body


def test_template_get_body_patched_back_as_the_claim_window_closes(api: Api, admin: str) -> None:
    """An admin extends a campaign: GET at 23:59 (status active), PATCH
    claim_end at 00:01 (status now derived 'ended')."""
    set_clock(FixedClock(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)))
    tid = api.post("/coupon-templates", template(), as_=admin).body["template_id"]  # claim_end 2026-12-01T00:00+08:00
    read = api.get(f"/coupon-templates/{tid}", as_=admin)
    set_clock(FixedClock(datetime(2026, 11, 30, 16, 1, tzinfo=UTC)))
    reply = api.call("PATCH", f"/coupon-templates/{tid}", {**read.body, "claim_end": "2026-12-08T00:00:00+08:00"},
                     as_=admin, headers={"If-Match": read.headers["ETag"]})
    assert reply.status == 200, reply.body
def test_put_of_get_bodies_still_accepted(api: Api, admin: str) -> None:
    api.put("/stores/s1", {**STORE, "hours": {"FRI": ["10:00-22:00"]}}, as_=admin)
    body = api.get("/stores/s1?coord=gcj02", as_=admin).body
    assert api.put("/stores/s1", body, as_=admin).status == 200
    tid = api.post("/coupon-templates", template(total_stock=50), as_=admin).body["template_id"]
    body = api.get(f"/coupon-templates/{tid}", as_=admin).body
    r = api.put(f"/coupon-templates/{tid}", body, as_=admin)
    assert r.status == 200, r.body
    api.put("/staff/st1", {"store_id": "s1"}, as_=admin)
    body = api.get("/staff/st1", as_=admin).body
    assert api.put("/staff/st1", body, as_=admin).status == 200


def test_wechat_reversed_nickname(api: Api) -> None:
    assert api.put("/members/me", {"nickname": "\u202e小明"}, as_=token("member", "m1")).status == 200
    # a line separator breaks a post or an export line as a newline does
    assert api.put("/members/me", {"nickname": "小\u2028明"}, as_=token("member", "m1")).status == 400
