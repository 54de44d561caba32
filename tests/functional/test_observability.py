"""Operators' view of a request: every log line is JSON; each request has one
access line (route template, status, latency, actor, business ids), also for
answers the framework gives (405, 415) and the local gateway (404); metrics
go out in Embedded Metric Format; phones and tokens never appear."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import metrics
from chalicelib.clock import FixedClock, set_clock
from tests.api import Api, token

NOON_FRI = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
PHONE = "13812345678"


def lines(captured: str) -> list[dict[str, Any]]:
    parsed = []
    for line in captured.splitlines():
        if line.strip():
            parsed.append(json.loads(line))  # every line is JSON, or this fails
    return parsed


def access_lines(parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in parsed if p.get("message") == "access"]


def emf(parsed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in parsed if "_aws" in p]


@pytest.fixture(autouse=True)
def _no_leftover_metrics() -> None:
    metrics.flush("test")  # counts other tests left in this process (not asserted on)


@pytest.fixture
def shop(api: Api, admin: str) -> str:
    set_clock(FixedClock(NOON_FRI))
    store = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5}
    assert api.put("/stores/S1", store, as_=admin).status == 200
    reply = api.post("/coupon-templates", {
        "title": "满50减10", "kind": "amount_off", "value": 1000, "min_spend_fen": 5000, "total_stock": 1,
        "claim_start": "2026-11-01T00:00:00+08:00", "claim_end": "2026-12-01T00:00:00+08:00",
        "valid_days": 7}, as_=admin)
    assert reply.status == 201, reply.body
    return str(reply.body["template_id"])


def test_a_claim_leaves_one_access_line_with_actor_ids_and_latency_and_its_metrics(
        api: Api, shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    member = token("member", "m-obs-1")
    reply = api.post(f"/coupon-templates/{shop}/claim", {"store_id": "S1"}, as_=member)
    assert reply.status == 201, reply.body
    parsed = lines(capsys.readouterr().out)
    [line] = access_lines(parsed)
    assert line["route"] == "POST /coupon-templates/{template_id}/claim"
    assert line["operation"] == "claimCoupon" and line["status"] == 201
    assert isinstance(line["latency_ms"], float) and line["latency_ms"] >= 0
    assert line["role"] == "member" and line["actor"] == "m-obs-1"
    assert line["ids"]["template_id"] == shop and line["ids"]["store_id"] == "S1"
    assert line["ids"]["coupon_id"] == reply.body["coupon_id"]
    assert line["request_id"] == reply.headers["x-request-id"]
    [doc] = emf(parsed)
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Storeloop" and directive["Dimensions"] == [["Service", "Stage"]]
    assert doc["Service"] == "api" and doc["Claims"] == 1 and doc["Requests"] == 1 and "Latency" in doc
    assert {m["Name"] for m in directive["Metrics"]} == {k for k in doc if k in metrics.NAMES}
    # the coupon code is a bearer credential: it must not be logged
    assert reply.body["code"] not in capsys.readouterr().out + json.dumps(parsed)

    capsys.readouterr()
    sold_out = api.post(f"/coupon-templates/{shop}/claim", {"store_id": "S1"}, as_=token("member", "m-obs-2"))
    assert sold_out.error_code == "sold_out"
    parsed = lines(capsys.readouterr().out)
    [line] = access_lines(parsed)
    assert line["status"] == 409 and line["code"] == "sold_out"
    [doc] = emf(parsed)
    assert doc["SoldOuts"] == 1 and doc["ClientErrors"] == 1 and "Claims" not in doc


def test_framework_answers_get_access_lines_too(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    member = token("member", "m-obs-3")
    assert api.call("DELETE", "/members/me", as_=member).status == 405
    assert api.call("PUT", "/members/me", raw=b"x", as_=member,
                    headers={"Content-Type": "text/plain"}).status == 415
    assert api.get("/no/such/route").status == 404
    statuses = [(line["status"], line.get("code")) for line in access_lines(lines(capsys.readouterr().out))]
    assert statuses == [(405, "method_not_allowed"), (415, "unsupported_media_type"), (404, "not_found")]


def test_no_phone_or_token_reaches_the_log(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    member = token("member", "m-obs-4")
    capsys.readouterr()
    assert api.put("/members/me", {"nickname": "小王", "phone": PHONE}, as_=member).status == 200
    assert api.put("/members/me", {"nickname": "小王", "phone": "not-a-phone " + PHONE * 2},
                   as_=member).status == 400
    bad = api.get("/members/me", as_=member + "x")  # a tampered token is echoed nowhere
    assert bad.status == 401
    out = capsys.readouterr().out
    parsed = lines(out)
    assert len(access_lines(parsed)) == 3
    assert PHONE not in out and PHONE[-8:] not in out, out
    assert member not in out and member[:20] not in out


def test_schedule_and_queue_handlers_log_json_with_the_lambda_request_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import logs

    log = logs.get_logger("test")
    event = SimpleNamespace(context=SimpleNamespace(aws_request_id="lambda-req-42"))
    capsys.readouterr()
    with logs.invocation("tick", event):
        log.info("working")
        metrics.count("TickRuns")
    parsed = lines(capsys.readouterr().out)
    assert parsed[0]["request_id"] == "lambda-req-42" and parsed[0]["handler"] == "tick"
    assert emf(parsed)[0]["TickRuns"] == 1 and emf(parsed)[0]["Service"] == "tick"


def test_emf_sums_counts_and_keeps_latency_values() -> None:
    doc = metrics.emf_document("api", {"Claims": [1, 1, 1], "Latency": [3.0, 5.0]}, now_ms=1)
    assert doc["Claims"] == 3 and doc["Latency"] == [3.0, 5.0] and doc["_aws"]["Timestamp"] == 1
    with pytest.raises(ValueError):
        metrics.count("NoSuchMetric")
    from chalicelib import web

    operations = {spec.operation_id for spec in web.all_routes()}
    assert set(metrics.BUSINESS_OPERATIONS) <= operations


def test_the_deployed_tick_and_worker_log_json_with_their_lambda_request_ids(
        api: Api, admin: str, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib.campaigns.tick import advance_watermark
    from chalicelib.settings import get_settings
    from tests.functional.test_stores_api import SHOP

    at = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai: the morning slot
    sqs = boto3.client("sqs", region_name="ap-east-1")
    url = sqs.create_queue(QueueName=get_settings().fanout_queue)["QueueUrl"]
    assert api.put("/stores/s-obs", SHOP, as_=admin).status == 200
    advance_watermark(at.replace(minute=25))
    set_clock(FixedClock(at))
    capsys.readouterr()
    with Client(app) as chalice:
        chalice.lambda_.invoke("campaigns_tick", chalice.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
        ticked = lines(capsys.readouterr().out)
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        event = chalice.events.generate_sqs_event(message_bodies=[m["Body"] for m in messages],
                                                  queue_name=get_settings().fanout_queue)
        chalice.lambda_.invoke("campaigns_fanout", event)
        worked = lines(capsys.readouterr().out)
    [summary] = [p for p in ticked if p.get("message") == "tick"]
    assert summary["handler"] == "tick" and summary["due"] == 1 and summary["messages"] == 1
    assert {"duration_ms", "posted", "duplicates", "failures"} <= set(summary)
    tick_ids = {p["request_id"] for p in ticked if "_aws" not in p}
    work_ids = {p["request_id"] for p in worked if "_aws" not in p}
    assert len(tick_ids) == 1 and len(work_ids) == 1 and tick_ids != work_ids  # one per invocation
    assert emf(ticked)[0]["TickRuns"] == 1 and emf(ticked)[0]["Service"] == "tick"
    assert emf(worked)[0]["PostsSent"] == 1 and emf(worked)[0]["Service"] == "fanout"


def test_the_nightly_reconcile_logs_json_with_its_lambda_request_id(
        api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.groups import reconcile
    from tests.conftest import use_environment

    use_environment(monkeypatch, STORELOOP_WECOM="live", STORELOOP_WECOM_CORP_ID="wwcorp",
                    STORELOOP_WECOM_SECRET="s", STORELOOP_WECOM_CALLBACK_TOKEN="t",
                    STORELOOP_WECOM_AES_KEY="k" * 43)
    monkeypatch.setattr(reconcile, "reconcile_all", lambda now, store_ids=None: [
        reconcile.StoreDrift("s-1", added=["g-9"])])
    capsys.readouterr()
    with Client(app) as chalice:
        chalice.lambda_.invoke("groups_reconcile", chalice.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    parsed = lines(capsys.readouterr().out)
    [summary] = [p for p in parsed if p.get("message") == "groups reconcile"]
    assert summary["handler"] == "groups_reconcile" and summary["request_id"]
    assert summary["stores"] == 1 and summary["drifted"] == 1 and summary["added"] == 1
