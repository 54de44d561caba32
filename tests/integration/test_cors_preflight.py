"""CORS preflight through real HTTP (`chalice local`): OPTIONS on the API's
paths answers for the configured console origins only, and the actual
cross-origin call then carries the CORS headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.api import token
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration]

CONSOLE = "https://console.example.com"


@pytest.fixture
def cors_served(ddb_env: dict[str, str]) -> Iterator[ChaliceLocal]:
    server = ChaliceLocal({**ddb_env, "STORELOOP_CORS_ORIGINS": f"https://other.example, {CONSOLE}"}).start()
    yield server
    server.stop()


def preflight(url: str, origin: str | None, method: str = "PATCH") -> requests.Response:
    headers = {"Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization, content-type, if-match"}
    if origin:
        headers["Origin"] = origin
    return requests.options(url, headers=headers, timeout=10)


def test_preflight_answers_configured_origins_then_the_call_carries_cors_headers(
        cors_served: ChaliceLocal, admin: str) -> None:
    base = cors_served.url
    ok = preflight(base + "/stores/S1", CONSOLE)
    assert ok.status_code == 204, ok.text
    assert ok.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert ok.headers["Access-Control-Allow-Methods"] == "GET, PATCH, PUT, OPTIONS"
    allowed_headers = {h.strip().lower() for h in ok.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed_headers
    assert int(ok.headers["Access-Control-Max-Age"]) > 0 and "Origin" in ok.headers["Vary"]
    # every API path has one, e.g. a list, a nested resource and a POST action
    for path in ("/stores", "/coupon-templates/t1/pause", "/stats/chain", "/stores/S1/policy", "/redemptions"):
        reply = preflight(base + path, CONSOLE, "POST")
        assert reply.status_code == 204 and reply.headers["Access-Control-Allow-Origin"] == CONSOLE, path
    refused = preflight(base + "/stores/S1", "https://evil.example")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in refused.headers
    plain = requests.options(base + "/stores/S1", timeout=10)
    assert plain.status_code == 204 and plain.headers["Allow"] == "GET, PATCH, PUT, OPTIONS"
    # the call itself, from the console's origin
    store = {"name": "徐汇店", "city": "上海", "lat": 31.19, "lng": 121.43, "traffic_tier": "high",
             "spend_tier": "low"}
    put = requests.put(base + "/stores/S1", json=store, timeout=10,
                       headers={"Origin": CONSOLE, "Authorization": f"Bearer {admin}"})
    assert put.status_code == 200 and put.headers["Access-Control-Allow-Origin"] == CONSOLE
    assert "ETag" in put.headers["Access-Control-Expose-Headers"]
    other = requests.get(base + "/stores/S1", timeout=10,
                         headers={"Origin": "https://evil.example", "Authorization": f"Bearer {admin}"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    member = requests.get(base + "/members/me", timeout=10,
                          headers={"Origin": CONSOLE, "Authorization": f"Bearer {token('member', 'm1')}"})
    assert member.headers["Access-Control-Allow-Origin"] == CONSOLE  # errors too (a 404 here) are readable
    # the OPTIONS views are no operations of the API: not in the OpenAPI document
    spec = requests.get(base + "/openapi.json", timeout=10).json()
    assert all("options" not in ops for ops in spec["paths"].values())


def test_without_configured_origins_every_preflight_is_refused(served: ChaliceLocal) -> None:
    reply = preflight(served.url + "/stores", "https://console.example.com", "GET")
    assert reply.status_code == 403 and "Access-Control-Allow-Origin" not in reply.headers
