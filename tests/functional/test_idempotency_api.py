"""Idempotency-Key on POSTs: the first answer comes back on a retry, nothing
is written twice, a reused key with another body is refused (moto)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import idempotency
from tests.api import Api, token
from tests.functional.test_payments_api import NOW, setup


def payment(payment_id: str = "p1", amount: int = 3500) -> dict[str, Any]:
    return {"payment_id": payment_id, "member_id": "m1", "store_id": "s1", "amount_fen": amount,
            "paid_at": NOW.isoformat()}


def stats(api: Api, admin: str) -> dict[str, Any]:
    return api.get("/stats/stores/s1?from=2026-11-20&to=2026-11-20", as_=admin).body["days"][0]


def test_a_retry_with_the_same_key_gets_the_first_answer_and_changes_nothing(api: Api, admin: str) -> None:
    setup(api, admin)
    first = api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k-1"})
    again = api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 200
    assert again.body == first.body and first.body["duplicate"] is False  # the first answer, verbatim
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert (stats(api, admin)["payments"], stats(api, admin)["gmv_fen"]) == (1, 3500)


def test_a_key_reused_with_another_body_is_refused(api: Api, admin: str) -> None:
    setup(api, admin)
    api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k-1"})
    reply = api.post("/payments", payment("p2"), as_=admin, headers={"Idempotency-Key": "k-1"})
    assert reply.status == 422 and reply.error_code == "idempotency_key_reused"
    assert stats(api, admin)["payments"] == 1


def test_keys_are_per_caller_and_route(api: Api, admin: str) -> None:
    setup(api, admin)
    other_admin = token("admin", "hq-2")
    assert api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k"}).status == 200
    reply = api.post("/payments", payment("p2"), as_=other_admin, headers={"Idempotency-Key": "k"})
    assert reply.status == 200 and "Idempotent-Replayed" not in reply.headers
    assert stats(api, admin)["payments"] == 2


def test_an_error_is_not_stored_so_a_retry_runs_again(api: Api, admin: str) -> None:
    setup(api, admin)
    body = payment()
    body["member_id"] = "nobody"
    assert api.post("/payments", body, as_=admin, headers={"Idempotency-Key": "k"}).status == 404
    assert api.put("/members/me", {"nickname": "新"}, as_=token("member", "nobody")).status == 200
    retried = api.post("/payments", body, as_=admin, headers={"Idempotency-Key": "k"})
    assert retried.status == 200 and "Idempotent-Replayed" not in retried.headers


def test_a_request_still_running_is_409_with_retry_after(api: Api, admin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup(api, admin)
    seen: list[Any] = []

    def nested(*args: Any, **kwargs: Any) -> Any:  # the same key arrives while the first is running
        seen.append(api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k"}))
        return real(*args, **kwargs)

    from chalicelib.payments import routes

    real = routes.service.record_payment
    monkeypatch.setattr(routes.service, "record_payment", nested)
    first = api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k"})
    assert first.status == 200
    assert seen[0].status == 409 and seen[0].error_code == "request_in_progress"
    assert seen[0].headers.get("Retry-After") == "1"


def test_a_request_that_died_in_progress_is_taken_over_after_its_lease(api: Api, admin: str) -> None:
    from chalicelib.clock import FixedClock, set_clock

    setup(api, admin)
    record = idempotency.IdempotencyRecord(
        idempotency.txn.token_for(idempotency.scope_key("hq-ops", "POST /payments", "k")), status="in_progress",
        body_hash=idempotency._hash(json.dumps(payment()).encode()),
        lease_until=NOW, expires_at=NOW + idempotency.KEEP_FOR)
    record.save()
    set_clock(FixedClock(NOW + idempotency.LEASE))
    reply = api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": "k"})
    assert reply.status == 200 and reply.body["duplicate"] is False


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "中文"])
def test_a_malformed_key_is_400(api: Api, admin: str, key: str) -> None:
    setup(api, admin)
    reply = api.post("/payments", payment(), as_=admin, headers={"Idempotency-Key": key})
    if key == "":
        assert reply.status == 200  # an empty header is no key
    else:
        assert reply.status == 400 and reply.body["error"]["details"][0]["field"] == "Idempotency-Key"


def test_a_replay_carries_the_first_answers_etag(api: Api, admin: str) -> None:
    """A copied template's 201 carries its ETag (for the next If-Match); the
    replay of the same POST answered the body without it."""
    from tests.functional.test_coupons_api import template

    setup(api, admin)
    tid = api.post("/coupon-templates", template(), as_=admin).body["template_id"]
    first, again = (api.post(f"/coupon-templates/{tid}/copy", {"title": "再来"}, as_=admin,
                             headers={"Idempotency-Key": "copy-1"}) for _ in range(2))
    assert first.status == again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert first.headers["ETag"] == again.headers["ETag"] == '"v1"'
