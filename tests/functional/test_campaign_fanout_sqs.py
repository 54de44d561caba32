"""The SQS side of the fan-out on moto: batches of 10, the deployed tick
enqueueing due stores, and the consumer's partial batch response."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from chalice.test import Client

from chalicelib import db
from chalicelib.campaigns import posts, worker
from chalicelib.campaigns.fanout import SqsQueue
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from tests.api import Api
from tests.functional.test_stores_api import SHOP
from tests.functional.test_tick_reads import CHAIN_WIDE, NOON, ItemMeter, _stores

PER_POST_QUERIES = 0  # its group is read by key with the batch's; its own coupon bucket: no own-offers mark
AT = datetime(2026, 11, 20, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))



@pytest.fixture(autouse=True)
def listed(api: Api) -> None:
    """A stack made by this version: its groups listing is complete (the
    marker `cli create-tables` writes with a new groups table)."""
    from chalicelib.groups.directory import mark_listing_complete

    mark_listing_complete()

@pytest.fixture
def sqs(api: Api) -> Iterator[tuple[object, str]]:
    client = boto3.client("sqs", region_name="ap-east-1")
    url = client.create_queue(QueueName="fanout-test")["QueueUrl"]
    yield client, url


def drain(client: object, url: str) -> list[dict]:
    bodies = []
    while True:
        reply = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # type: ignore[attr-defined]
        if not reply.get("Messages"):
            return bodies
        for message in reply["Messages"]:
            bodies.append(json.loads(message["Body"]))
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # type: ignore[attr-defined]


def test_sends_in_batches_of_ten(sqs: tuple[object, str]) -> None:
    client, url = sqs
    queue = SqsQueue(url, client)
    assert queue.send([{"type": "retry", "store_id": f"s{i}", "post_ids": []} for i in range(23)])["enqueued"] == 23
    assert sorted(int(m["store_id"][1:]) for m in drain(client, url)) == list(range(23))


def test_the_tick_enqueues_one_message_per_due_store_and_the_consumer_posts(
        api: Api, admin: str, sqs: tuple[object, str]) -> None:
    client, url = sqs
    for i in range(3):
        api.put(f"/stores/s{i}", SHOP, as_=admin)
    advance_watermark(AT.replace(minute=25))
    set_clock(FixedClock(AT))
    summary = run_tick(AT, SqsQueue(url, client))
    assert (summary.due, summary.outcome["enqueued"]) == (3, 3)
    messages = drain(client, url)
    assert sorted(m["store_id"] for m in messages) == ["s0", "s1", "s2"]
    messages.append(messages[0])  # a redelivery in the same batch
    messages.append({"type": "slots", "store_id": "s9", "start": "bad", "end": "bad", "items": []})  # a poison one
    meter = ItemMeter()
    reply, record_ids = _invoke(messages, meter)
    # the batch's stores (s0..s2 and the poison message's s9) and their plans: one BatchGetItem for all,
    # no GetItem per message; then one of the open stores' groups 1 (none here) and one of their
    # pointers (none either: no group at all, no Query)
    assert meter.requests["BatchGetItem"] == 3 and meter.requests["GetItem"] == 0
    failed = reply["batchItemFailures"]
    assert len(failed) == 1  # only the poison message goes back to SQS
    assert failed[0]["itemIdentifier"] == record_ids[-1]
    for i in range(3):
        assert [(p.slot, p.status) for p in posts.for_day(f"s{i}", AT.date())] == [("morning", "sent")]


def _invoke(messages: list[dict], meter: ItemMeter | None = None) -> tuple[dict, list[str]]:
    from app import app

    events = db.connection().client.meta.events
    if meter is not None:
        events.register("after-call.dynamodb", meter)
    try:
        with Client(app) as chalice:
            event = chalice.events.generate_sqs_event(message_bodies=[json.dumps(m) for m in messages],
                                                      queue_name="fanout-test")
            reply = chalice.lambda_.invoke("campaigns_fanout", event).payload
    finally:
        if meter is not None:
            events.unregister("after-call.dynamodb", meter)
    return reply, [r["messageId"] for r in event["Records"]]


def test_an_sqs_batch_goes_through_the_batch_path_requests_per_post_exact(
        api: Api, admin: str, sqs: tuple[object, str]) -> None:
    """Ten due stores in one SQS batch (one group each, the record channel):
    no request per post; per batch one BatchGetItem (stores, plans and the
    own-offer marks), one BatchGetItem of their groups 1 (each listing the
    store's other groups: none), one TransactWriteItems creating the 10 posts,
    one BatchWriteItem of their messages, one TransactWriteItems marking
    them sent; per container and tick the chain-wide catalogue (4 shared
    bucket Queries, 1 BatchGetItem of their one template)."""
    client, url = sqs
    ids = [f"q{i}" for i in range(10)]
    _stores(api, admin, ids)
    assert api.post("/coupon-templates", CHAIN_WIDE, as_=admin).status == 201
    set_clock(FixedClock(NOON))
    advance_watermark(NOON - timedelta(minutes=5))
    assert run_tick(NOON, SqsQueue(url, client)).outcome["enqueued"] == 10
    messages = drain(client, url)
    meter = ItemMeter()
    reply, _ = _invoke(messages, meter)
    assert reply == {"batchItemFailures": []}
    posts_n = len(ids)
    per_post = {"Query": PER_POST_QUERIES}
    per_batch = {"BatchGetItem": 2, "TransactWriteItems": 2, "BatchWriteItem": 1}
    per_tick = {"Query": 4, "BatchGetItem": 1}
    expected: Counter[str] = Counter(per_tick)
    expected.update({op: n * posts_n for op, n in per_post.items()})
    expected.update(per_batch)
    assert meter.requests == expected
    assert sum(meter.requests.values()) == PER_POST_QUERIES * posts_n + 5 + 5  # per tick 5, per batch 5
    for store_id in ids:
        [post] = posts.for_day(store_id, NOON.date())
        assert post.status == "sent" and "早安拿铁立减3元" in (post.body or "")


def test_one_failed_message_is_the_only_one_reported(api: Api, admin: str, sqs: tuple[object, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A store whose post cannot be built (here its content raises) fails
    alone: its record is the only item failure, the others are posted once."""
    client, url = sqs
    ids = ["e0", "e1", "e2", "e3"]
    _stores(api, admin, ids)
    set_clock(FixedClock(NOON))
    advance_watermark(NOON - timedelta(minutes=5))
    run_tick(NOON, SqsQueue(url, client))
    messages = sorted(drain(client, url), key=lambda m: m["store_id"])
    real = worker.content

    def content(store: Any, *args: Any, **kwargs: Any) -> Any:
        if store.store_id == "e2":
            raise RuntimeError("offers read failed")
        return real(store, *args, **kwargs)

    monkeypatch.setattr(worker, "content", content)
    reply, record_ids = _invoke(messages)
    assert reply["batchItemFailures"] == [{"itemIdentifier": record_ids[2]}]
    assert [len(posts.for_day(s, NOON.date())) for s in ids] == [1, 1, 0, 1]
    monkeypatch.setattr(worker, "content", real)
    # SQS redelivers only e2's message: it is posted; a redelivery of e0's counts a duplicate
    reply, _ = _invoke([messages[2], messages[0]])
    assert reply == {"batchItemFailures": []}
    assert [len(posts.for_day(s, NOON.date())) for s in ids] == [1, 1, 1, 1]
