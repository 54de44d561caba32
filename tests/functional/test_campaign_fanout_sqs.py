"""The SQS side of the fan-out on moto: batches of 10, the deployed tick
enqueueing due stores, and the consumer's partial batch response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
from chalice.test import Client

from chalicelib import db
from chalicelib.campaigns import posts
from chalicelib.campaigns.fanout import SqsQueue
from chalicelib.campaigns.tick import advance_watermark, run_tick
from chalicelib.clock import FixedClock, set_clock
from tests.api import Api
from tests.functional.test_stores_api import SHOP
from tests.functional.test_tick_reads import ItemMeter

AT = datetime(2026, 11, 20, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


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
    from app import app

    meter = ItemMeter()
    events = db.connection().client.meta.events
    events.register("after-call.dynamodb", meter)
    try:
        with Client(app) as chalice:
            event = chalice.events.generate_sqs_event(message_bodies=[json.dumps(m) for m in messages],
                                                      queue_name="fanout-test")
            reply = chalice.lambda_.invoke("campaigns_fanout", event).payload
    finally:
        events.unregister("after-call.dynamodb", meter)
    # the batch's stores (s0..s2 and the poison message's s9) and their plans: one BatchGetItem for all,
    # no GetItem per message
    assert meter.requests["BatchGetItem"] == 1 and meter.requests["GetItem"] == 0
    failed = reply["batchItemFailures"]
    assert len(failed) == 1  # only the poison message goes back to SQS
    record_ids = [r["messageId"] for r in event["Records"]]
    assert failed[0]["itemIdentifier"] == record_ids[-1]
    for i in range(3):
        assert [(p.slot, p.status) for p in posts.for_day(f"s{i}", AT.date())] == [("morning", "sent")]
