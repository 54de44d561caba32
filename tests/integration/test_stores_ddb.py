"""Stores on DynamoDB Local: single upserts, the bulk import, and error envelopes over real HTTP."""

from __future__ import annotations

import pytest

from chalicelib.stores.csv_import import DEMO_CSV, read_rows
from tests.api import Api, token
from tests.functional.test_stores_api import SHOP

pytestmark = pytest.mark.integration


def test_batch_import_writes_every_demo_store(api: Api, admin: str) -> None:
    rows = [r.model_dump(mode="json") for r in read_rows(DEMO_CSV)]
    reply = api.post("/stores/batch", {"stores": rows}, as_=admin)
    assert reply.status == 200, reply.body
    assert reply.body == {"upserted": len(rows)}
    for row in rows[:5]:
        got = api.get(f"/stores/{row['store_id']}?coord=gcj02", as_=admin)
        assert got.status == 200
        assert abs(got.body["lat"] - row["lat"]) < 1e-6


def test_a_bad_row_fails_the_whole_batch_by_index(api: Api, admin: str) -> None:
    rows = [{**SHOP, "store_id": f"b{i}"} for i in range(5)]
    rows[3]["lng"] = 500
    reply = api.post("/stores/batch", {"stores": rows}, as_=admin)
    assert reply.status == 400
    assert reply.body["error"]["details"] == [
        {"field": "stores[3].lng", "problem": "Input should be less than or equal to 180"}]
    assert api.get("/stores/b0", as_=admin).status == 404  # nothing of the batch was written


def test_duplicate_ids_in_a_batch_are_a_validation_error(api: Api, admin: str) -> None:
    rows = [{**SHOP, "store_id": "dup"}, {**SHOP, "store_id": "dup"}]
    reply = api.post("/stores/batch", {"stores": rows}, as_=admin)
    assert reply.status == 400 and reply.error_code == "validation_error"


@pytest.mark.parametrize("method,path,raw,headers,status,code", [
    ("PUT", "/stores/s1", b"{not json", {}, 400, "validation_error"),
    ("PUT", "/stores/s1", b"[1, 2]", {}, 400, "validation_error"),
    ("PUT", "/stores/s1", b"", {}, 400, "validation_error"),
    ("PUT", "/stores/s1", b"{}", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
    ("DELETE", "/stores/s1", b"", {}, 405, "method_not_allowed"),
    ("GET", "/no/such/route", b"", {}, 404, "not_found"),
    ("PUT", "/stores/bad%20id", b'{"name":"x"}', {}, 400, "validation_error"),
])
def test_every_client_mistake_gets_the_envelope(http_api: Api, admin: str, method: str, path: str, raw: bytes,
                                                 headers: dict[str, str], status: int, code: str) -> None:
    reply = http_api.call(method, path, raw=raw, as_=admin, headers=headers)
    assert reply.status == status, reply.body
    assert reply.error_code == code
    assert isinstance(reply.body["error"]["message"], str) and isinstance(reply.body["error"]["details"], list)


@pytest.mark.parametrize("bad_token", [
    "not-a-jwt",
    token("admin", "x", secret="some-other-secret-0123456789-abcdefghij"),
    # alg none: header {"alg":"none"} with admin claims and no signature
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIiwiZXhwIjo0MTAyNDQ0ODAwfQ.",
])
def test_forged_tokens_are_unauthenticated(http_api: Api, bad_token: str) -> None:
    reply = http_api.get("/stores/s1", as_=bad_token)
    assert reply.status == 401 and reply.error_code == "unauthenticated"


def test_chinese_names_round_trip_as_utf8(http_api: Api, admin: str) -> None:
    http_api.put("/stores/s9", SHOP, as_=admin)
    reply = http_api.get("/stores/s9", as_=token("staff", "st1", store_id="s9"))
    assert reply.body["name"] == "政立路店"
    assert "charset=utf-8" in next(v for k, v in reply.headers.items() if k.lower() == "content-type")


