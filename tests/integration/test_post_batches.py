"""The in-process fan-out's batched post writes on DynamoDB Local: a
worker's share of posts is created in one TransactWriteItems (every put
guarded by attribute_not_exists) and marked sent in one (every update
guarded by status != "sent", with the day's counter). One post's refusal
never decides another's; concurrent batches over the same posts create
each post exactly once; counters move exactly once per post."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.models import PostRecord
from chalicelib.campaigns.slots import SlotSpec
from chalicelib.stats.models import StoreDayStats
from tests.integration.test_campaign_days import DAY, add_store, fake_offers, sh, tick  # noqa: F401

pytestmark = pytest.mark.integration
NOON = SlotSpec("noon", "12:00", "flash_coupon")
TEA = SlotSpec("tea", "15:00", "afternoon_promo")
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def draft(store_id: str, spec: SlotSpec = NOON) -> PostRecord:
    return posts.draft(store_id, spec, DAY, NOW, NOW, body=f"{store_id} {spec.slot}", offers=[], member_day=False,
                       group_ids=[f"{store_id}.1"])


def sent_count(store_id: str, day: date = DAY) -> int:
    try:
        return int(StoreDayStats.get(store_id, day.isoformat(), consistent_read=True).posts_sent or 0)
    except StoreDayStats.DoesNotExist:
        return 0


@contextmanager
def requests_on(table_suffix: str) -> Iterator[list[str]]:
    """The operations sent to tables whose name ends with `table_suffix` while inside."""
    from chalicelib import db

    sent: list[str] = []

    def note(params: dict, model: object, **_: object) -> None:
        if str(params.get("TableName", "")).endswith(table_suffix):
            sent.append(model.name)  # type: ignore[attr-defined]

    events = db.connection().client.meta.events
    events.register("provide-client-params.dynamodb", note)
    try:
        yield sent
    finally:
        events.unregister("provide-client-params.dynamodb", note)



def test_a_batch_creates_the_posts_that_do_not_exist_and_refuses_the_others(ddb_env: dict) -> None:
    theirs = draft("s1")
    assert posts.create_many([theirs]) == [True]  # someone else's post (a lone put)
    lost = draft("s3")
    assert posts.create_many([lost]) == [True]  # our own earlier commit whose answer was lost
    batch = [draft(f"s{i}") for i in range(6)]
    batch[3] = lost
    assert posts.create_many(batch) == [True, False, True, True, True, True]
    stored = {p.store_id: p for i in range(6) for p in posts.for_day(f"s{i}", DAY)}
    assert len(stored) == 6
    assert stored["s1"].created_by == theirs.created_by  # the refused put changed nothing
    assert all(stored[f"s{i}"].created_by == batch[i].created_by for i in (0, 2, 3, 4, 5))
    assert posts.create_many(batch) == [True, False, True, True, True, True]  # re-sent: ours stay ours
    assert posts.create_many([draft(f"s{i}") for i in range(6)]) == [False] * 6  # a redelivered batch


def test_concurrent_overlapping_batches_create_each_post_exactly_once(ddb_env: dict) -> None:
    stores = [f"c{i}" for i in range(30)]
    rng = random.Random(13)
    shares = [rng.sample(stores, 20) for _ in range(4)]
    results: list[list[tuple[str, bool]]] = [[] for _ in shares]
    barrier = threading.Barrier(len(shares))

    def run(n: int) -> None:
        drafts = [draft(s) for s in shares[n]]
        barrier.wait()
        results[n] = list(zip(shares[n], posts.create_many(drafts), strict=True))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(shares))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    owners: dict[str, int] = {}
    for result in results:
        assert len(result) == 20
        for store_id, ours in result:
            owners[store_id] = owners.get(store_id, 0) + int(ours)
    asked = {s for share in shares for s in share}
    assert owners == {s: 1 for s in asked}  # every post asked for has exactly one creator
    assert all(len(posts.for_day(s, DAY)) == (1 if s in asked else 0) for s in stores)


def test_a_batch_marks_each_post_sent_once_and_counts_it_once(ddb_env: dict) -> None:
    batch = [draft("m1"), draft("m1", TEA), draft("m2"), draft("m3")]  # m1 twice: one counter item, +2
    assert posts.create_many(batch) == [True] * 4
    assert posts.mark_sent(batch[2], NOW) is True  # m2 already sent (a re-drive got there first)
    later = NOW + timedelta(minutes=1)
    assert posts.mark_sent_many([(p, f"{p.store_id}.1#0") for p in batch], later) == [True, True, False, True]
    assert (sent_count("m1"), sent_count("m2"), sent_count("m3")) == (2, 1, 1)
    for p in batch:
        stored = posts.get(p.store_id, p.post_id)
        assert stored.status == "sent" and stored.outbox_shard is None and stored.next_attempt_at is None
        assert stored.sent_parts == (None if p is batch[2] else {f"{p.store_id}.1#0"})
    assert posts.get("m2", batch[2].post_id).sent_at == NOW  # the refused update changed nothing
    assert posts.mark_sent_many([(p, None) for p in batch], later) == [False] * 4  # again: nothing moves
    assert (sent_count("m1"), sent_count("m2"), sent_count("m3")) == (2, 1, 1)
    assert list(posts.due_for_retry(later + timedelta(hours=1))) == []  # all out of the outbox


@pytest.mark.usefixtures("fake_offers")
def test_a_tick_writes_a_workers_batch_in_two_transactions(ddb_env: dict) -> None:
    from chalicelib import db

    for i in range(8):
        add_store(f"t{i}", idle_hour=None)
    tick(sh("08:00"))
    requests: list[str] = []
    events = db.connection().client.meta.events

    def count(model: object, **_: object) -> None:
        requests.append(model.name)  # type: ignore[attr-defined]

    events.register("after-call.dynamodb", count)
    try:
        summary = tick(sh("08:30"), workers=1)  # one worker: one batch of 8 stores
    finally:
        events.unregister("after-call.dynamodb", count)
    assert summary.outcome["posted"] == 8
    assert requests.count("TransactWriteItems") == 2  # the 8 creates, then the 8 sent transitions
    assert requests.count("BatchWriteItem") == 1  # the record channel's 8 messages, written before the transition
    assert requests.count("PutItem") == 0  # no per-post create, no per-message put
    assert requests.count("UpdateItem") == 1  # the watermark: no per-part write
    for i in range(8):
        assert [p.status for p in posts.for_day(f"t{i}", DAY)] == ["sent"]
        assert sent_count(f"t{i}") == 1


@pytest.mark.usefixtures("fake_offers")
def test_a_noon_size_tick_reads_the_due_stores_groups_in_one_parallel_scan(ddb_env: dict,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.delivery.record import recorded
    from chalicelib.groups import directory

    monkeypatch.setattr(directory, "SCAN_MIN_STORES", 3)  # 100 in production: this test's 4 stores stand in
    groups = {"g0": 2, "g1": 1, "g2": 0, "g3": 1}
    for store_id, n in groups.items():
        add_store(store_id, groups=n, idle_hour=None)
    tick(sh("08:00"))
    with requests_on("groups") as on_groups:
        summary = tick(sh("08:30"), workers=2)
    assert summary.outcome["posted"] == 4
    assert sorted(on_groups) == ["DescribeTable"] + ["Scan"] * directory.SCAN_SEGMENTS  # no Query per store
    for store_id, n in groups.items():
        (post,) = posts.for_day(store_id, DAY)
        assert (post.group_ids or []) == [f"{store_id}.{seq}" for seq in range(1, n + 1)]
        assert post.status == "sent" and len(recorded(store_id)) == n


def test_the_groups_scan_is_used_only_when_it_reads_no_more_than_two_groups_a_store(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.groups import directory

    monkeypatch.setattr(directory, "SCAN_MIN_STORES", 1)
    for i in range(10):
        add_store(f"d{i}", idle_hour=None)
    assert directory.groups_by_store(["d0", "d1"]) is None  # 10 groups for 2 stores: a Query each is cheaper
    found = directory.groups_by_store([f"d{i}" for i in range(5)] + ["nobody"])
    assert found is not None and sorted(found) == ["d0", "d1", "d2", "d3", "d4", "nobody"]
    assert [g.group_id for g in found["d3"]] == ["d3.1"] and found["nobody"] == []
    monkeypatch.setattr(directory, "SCAN_MIN_STORES", 100)
    assert directory.groups_by_store([f"d{i}" for i in range(10)]) is None  # a small tick: Queries


@pytest.mark.usefixtures("fake_offers")
def test_messages_that_were_never_written_leave_their_posts_unsent_and_re_driven(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record channel holds a batch's messages and writes them before
    the sent transition; if that write fails, no post of the batch is
    recorded as sent, and the outbox re-drives them all."""
    from chalicelib.delivery.models import RecordedMessage
    from chalicelib.delivery.record import recorded

    for i in range(3):
        add_store(f"f{i}", idle_hour=None)
    tick(sh("08:00"))
    real = RecordedMessage.batch_write

    def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("recorded-messages is down")

    monkeypatch.setattr(RecordedMessage, "batch_write", broken)
    summary = tick(sh("08:30"), workers=1)
    assert summary.outcome["errors"] == 3 and summary.outcome["posted"] == 0
    for i in range(3):
        (post,) = posts.for_day(f"f{i}", DAY)
        assert post.status == "pending" and post.outbox_shard is not None and recorded(f"f{i}") == []
    monkeypatch.setattr(RecordedMessage, "batch_write", real)
    later = tick(sh("08:40"), workers=1)  # past the 5-minute lease: the outbox re-drives all three
    assert later.outcome["retry_sent"] == 3
    for i in range(3):
        assert [p.status for p in posts.for_day(f"f{i}", DAY)] == ["sent"] and len(recorded(f"f{i}")) == 1
        assert sent_count(f"f{i}") == 1


@pytest.mark.usefixtures("fake_offers")
def test_cli_tick_reads_the_groups_once_for_all_its_chunks(ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.campaigns.cli import ProgressQueue
    from chalicelib.campaigns.fanout import InProcessQueue
    from chalicelib.campaigns.tick import run_tick
    from chalicelib.delivery.record import RecordChannel
    from chalicelib.groups import directory

    monkeypatch.setattr(directory, "SCAN_MIN_STORES", 3)
    for i in range(30):
        add_store(f"k{i}", idle_hour=None)
    tick(sh("08:00"))
    with requests_on("groups") as on_groups:
        at = sh("08:30")
        summary = run_tick(at, ProgressQueue(InProcessQueue(at, RecordChannel(), workers=1)))  # chunks of 25
    assert summary.outcome["posted"] == 30
    assert sorted(on_groups) == ["DescribeTable"] + ["Scan"] * directory.SCAN_SEGMENTS


class _Record:
    """An SQS record as Chalice hands it to the consumer (`body`, `to_dict()`)."""

    def __init__(self, body: str, message_id: str) -> None:
        self.body = body
        self._raw = {"messageId": message_id, "body": body}

    def to_dict(self) -> dict:
        return self._raw


class _Capture:
    """SqsQueue's client: keeps what the tick enqueues."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:  # noqa: N803 - boto3's names
        self.bodies += [e["MessageBody"] for e in Entries]
        return {"Successful": Entries}


def due_records(enqueued: int) -> list[_Record]:
    """The 08:30 tick's messages, captured instead of sent to SQS (as many as
    `enqueued`), as the records the consumer is handed."""
    from chalicelib.campaigns.fanout import SqsQueue
    from chalicelib.campaigns.tick import run_tick

    tick(sh("08:00"))
    capture = _Capture()
    assert run_tick(sh("08:30"), SqsQueue("fanout", capture)).outcome["enqueued"] == enqueued
    return [_Record(body, f"m{i}") for i, body in enumerate(capture.bodies)]


@pytest.mark.usefixtures("fake_offers")
def test_concurrent_duplicate_sqs_deliveries_post_each_store_once(ddb_env: dict) -> None:
    """SQS is at-least-once: the same 12 messages reach four consumers at the
    same time (real threads, DynamoDB Local), in batches cut differently, one
    of them holding a message twice. Every store gets exactly one post, sent
    once, one message written, its day counted once; no record is reported
    failed (a redelivery is a duplicate, not an error)."""
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.delivery.record import RecordChannel, recorded

    stores = [f"q{i:02d}" for i in range(12)]
    for store_id in stores:
        add_store(store_id, idle_hour=None)
    records = due_records(12)
    rng = random.Random(7)
    deliveries = [records[:10], records[10:] + records[:8], rng.sample(records, 10),
                  records[5:12] + [records[5]]]
    replies: list[dict] = [{} for _ in deliveries]
    barrier = threading.Barrier(len(deliveries))

    def consume(n: int) -> None:
        barrier.wait()
        replies[n] = process_records(deliveries[n], sh("08:30"), RecordChannel())

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(len(deliveries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies == [{"batchItemFailures": []}] * len(deliveries)
    for store_id in stores:
        (post,) = posts.for_day(store_id, DAY)
        assert post.status == "sent" and len(recorded(store_id)) == 1 and sent_count(store_id) == 1


@pytest.mark.usefixtures("fake_offers")
def test_an_sqs_batch_whose_message_write_fails_reports_its_messages_and_leaves_posts_for_the_outbox(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the SQS consumer: the batch's message write fails, so every
    record whose post was in the batch is reported (SQS redelivers them), no
    post is recorded as sent; the redelivery finds the posts (duplicates, not
    re-posted) and the outbox re-drives them, each once."""
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.delivery.models import RecordedMessage
    from chalicelib.delivery.record import RecordChannel, recorded

    for i in range(3):
        add_store(f"w{i}", idle_hour=None)
    records = due_records(3)
    real = RecordedMessage.batch_write

    def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("recorded-messages is down")

    monkeypatch.setattr(RecordedMessage, "batch_write", broken)
    reply = process_records(records, sh("08:30"), RecordChannel())
    assert sorted(f["itemIdentifier"] for f in reply["batchItemFailures"]) == ["m0", "m1", "m2"]
    monkeypatch.setattr(RecordedMessage, "batch_write", real)
    assert process_records(records, sh("08:31"), RecordChannel()) == {"batchItemFailures": []}
    for i in range(3):
        assert [p.status for p in posts.for_day(f"w{i}", DAY)] == ["pending"] and recorded(f"w{i}") == []
    later = tick(sh("08:40"), workers=1)  # past the lease: the outbox re-drives all three
    assert later.outcome["retry_sent"] == 3
    for i in range(3):
        assert [p.status for p in posts.for_day(f"w{i}", DAY)] == ["sent"] and len(recorded(f"w{i}")) == 1
        assert sent_count(f"w{i}") == 1


class CountingChannel:
    """A channel that sends at once (as `wecom` does: no `held`), counts
    each message key, and fails on the stores named in `broken`."""

    name = "counting"

    def __init__(self, broken: set[str]) -> None:
        self.broken = broken
        self.sends: dict[str, int] = {}

    def send(self, target: object, message_key: str, text: str, now: datetime) -> object:
        from chalicelib.delivery.channel import Delivered

        store_id = target.store_id  # type: ignore[attr-defined]
        if store_id in self.broken:
            raise RuntimeError(f"robot for {store_id} blew up")
        self.sends[message_key] = self.sends.get(message_key, 0) + 1
        return Delivered()


def _batch(prefix: str, n: int) -> list[tuple[PostRecord, list]]:
    from chalicelib.groups.models import GroupRecord

    drafts = [draft(f"{prefix}{i}") for i in range(n)]
    assert posts.create_many(drafts) == [True] * n
    return [(p, [GroupRecord(p.store_id, 1, group_id=f"{p.store_id}.1", capacity=200, created_at=NOW)])
            for p in drafts]


def test_a_post_that_raises_mid_batch_leaves_the_posts_before_it_recorded_not_re_sent(ddb_env: dict) -> None:
    from chalicelib.campaigns.delivering import PartlyDelivered, deliver_many

    batch = _batch("x", 5)
    channel = CountingChannel(broken={"x3"})
    with pytest.raises(PartlyDelivered, match="x3") as raised:
        deliver_many(batch, channel, NOW)
    assert raised.value.results == ["sent", "sent", "sent", None, None]
    assert isinstance(raised.value.__cause__, RuntimeError)
    status = {p.store_id: posts.get(p.store_id, p.post_id).status for p, _ in batch}
    assert status == {"x0": "sent", "x1": "sent", "x2": "sent", "x3": "pending", "x4": "pending"}
    assert [sent_count(f"x{i}") for i in range(5)] == [1, 1, 1, 0, 0]
    # the outbox re-drives the batch once the robot is back: only x3 and x4 go out
    channel.broken.clear()
    again = [(posts.get(p.store_id, p.post_id), groups) for p, groups in batch]
    assert deliver_many(again, channel, NOW + timedelta(minutes=5)) == ["sent"] * 5
    assert all(n == 1 for n in channel.sends.values()) and len(channel.sends) == 5
    assert [sent_count(f"x{i}") for i in range(5)] == [1] * 5


def test_a_failed_batched_sent_transition_records_each_post_on_its_own(ddb_env: dict,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.campaigns import delivering

    batch = _batch("y", 4)
    channel = CountingChannel(broken=set())

    def refuse(*_: object, **__: object) -> list[bool]:
        raise RuntimeError("TransactWriteItems: ValidationException")

    monkeypatch.setattr(posts, "mark_sent_many", refuse)
    assert delivering.deliver_many(batch, channel, NOW) == ["sent"] * 4
    assert all(posts.get(p.store_id, p.post_id).status == "sent" for p, _ in batch)
    assert [sent_count(f"y{i}") for i in range(4)] == [1] * 4
    assert list(posts.due_for_retry(NOW + timedelta(hours=1))) == []  # nothing left to re-send


@pytest.mark.usefixtures("fake_offers")
def test_an_sqs_batch_of_group_less_stores_queries_no_group_once_the_listing_is_complete(ddb_env: dict) -> None:
    """Ten stores with no group yet, their due messages through the real
    SQS consumer in two batches of five. Before `backfill-lists` has
    completed, each store's groups cost a Query (an older version's chat
    link could have made a group nothing notes); after it, the batch reads
    its stores' pointers in one BatchGetItem and queries nothing. The
    exact requests of each batch, and every post sent with no group."""
    from chalicelib import db
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.delivery.record import RecordChannel
    from chalicelib.groups.directory import backfill_listing

    stores = [f"n{i}" for i in range(10)]
    for store_id in stores:
        add_store(store_id, groups=0, idle_hour=None)
    records = due_records(10)

    def consume(batch: list[_Record]) -> dict[str, int]:
        ops: dict[str, int] = {}

        def note(model: object, **_: object) -> None:
            name = model.name  # type: ignore[attr-defined]
            ops[name] = ops.get(name, 0) + 1

        events = db.connection().client.meta.events
        events.register("after-call.dynamodb", note)
        try:
            assert process_records(batch, sh("08:30"), RecordChannel()) == {"batchItemFailures": []}
        finally:
            events.unregister("after-call.dynamodb", note)
        return ops

    before = consume(records[:5])
    backfill_listing()
    after = consume(records[5:])
    # stores+plans+marks, groups 1 (+ the marker); a Query per store; posts created, marked sent
    assert before == {"BatchGetItem": 2, "Query": 5, "TransactWriteItems": 2}
    # the same, with the stores' pointers in a third BatchGetItem instead of the Queries
    assert after == {"BatchGetItem": 3, "TransactWriteItems": 2}
    for store_id in stores:
        (post,) = posts.for_day(store_id, DAY)
        assert post.status == "sent" and post.group_ids == []


def _sent_metric() -> float:
    from chalicelib import metrics

    doc = metrics.flush("test") or {}
    return float(doc.get("PostsSent", 0))


@pytest.mark.usefixtures("fake_offers")
def test_a_batch_that_stops_part_way_counts_its_recorded_posts_as_sent_once_and_fails_only_the_others(
        ddb_env: dict) -> None:
    """Through the real SQS consumer: the robot of the fourth of five stores
    raises. The three posts delivered before it are recorded: `PostsSent`
    3, their records not reported; only the fourth's and fifth's are (SQS
    redelivers them: duplicates, their posts exist). The outbox re-drives
    those two: `PostsSent` 2 more. Five posts, five counted, each store's
    day counter 1, no message sent twice."""
    from chalicelib.campaigns.fanout import process_records

    stores = [f"p{i}" for i in range(5)]
    for store_id in stores:
        add_store(store_id, idle_hour=None)
    records = due_records(5)
    order = [json.loads(r.body)["store_id"] for r in records]
    channel = CountingChannel(broken={order[3]})
    _sent_metric()  # what other code counted before
    reply = process_records(records, sh("08:30"), channel)
    assert sorted(f["itemIdentifier"] for f in reply["batchItemFailures"]) == ["m3", "m4"]
    assert _sent_metric() == 3
    assert [posts.for_day(s, DAY)[0].status for s in order] == ["sent"] * 3 + ["pending"] * 2
    channel.broken.clear()
    assert process_records(records[3:], sh("08:31"), channel) == {"batchItemFailures": []}  # SQS redelivers
    assert _sent_metric() == 0  # duplicates: nothing sent again
    later = tick(sh("08:40"), channel)  # past the lease: the outbox re-drives the two
    assert later.outcome["retry_sent"] == 2
    assert _sent_metric() == 2
    assert [posts.for_day(s, DAY)[0].status for s in order] == ["sent"] * 5
    assert [sent_count(s) for s in order] == [1] * 5
    assert len(channel.sends) == 5 and set(channel.sends.values()) == {1}


@pytest.mark.usefixtures("fake_offers")
def test_the_in_process_tick_counts_a_part_way_batch_as_what_happened(ddb_env: dict) -> None:
    """The same stop in-process: the tick's outcome is 2 posted and 3
    errors (not 5 errors), `PostsSent` 2."""
    stores = [f"t{i}" for i in range(5)]
    for store_id in stores:
        add_store(store_id, idle_hour=None)
    tick(sh("08:00"))
    channel = CountingChannel(broken={"t2"})
    _sent_metric()
    summary = tick(sh("08:30"), channel)  # one worker: one batch, its stores in id order
    assert (summary.outcome["posted"], summary.outcome["errors"]) == (2, 3)  # t0, t1 sent; t2 raised; t3, t4 unsent
    assert _sent_metric() == 2 and sorted(channel.sends) == ["2026-11-20.morning#t0.1#0", "2026-11-20.morning#t1.1#0"]


def test_a_failed_sent_transition_for_one_post_fails_only_that_post(ddb_env: dict,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The batched transition fails, then one post's own transition too: the
    others are recorded and counted once; `PartlyDelivered` names them."""
    from chalicelib.campaigns import delivering

    batch = _batch("v", 4)
    channel = CountingChannel(broken=set())
    real = posts.mark_sent

    def refuse(*_: object, **__: object) -> list[bool]:
        raise RuntimeError("TransactWriteItems: ValidationException")

    def one_fails(post: PostRecord, now: datetime, last_part: str | None = None) -> bool:
        if post.store_id == "v1":
            raise RuntimeError("throttled")
        return real(post, now, last_part)

    monkeypatch.setattr(posts, "mark_sent_many", refuse)
    monkeypatch.setattr(posts, "mark_sent", one_fails)
    _sent_metric()
    with pytest.raises(delivering.PartlyDelivered, match="throttled") as raised:
        delivering.deliver_many(batch, channel, NOW)
    assert raised.value.results == ["sent", None, "sent", "sent"]
    assert _sent_metric() == 3
    assert [sent_count(f"v{i}") for i in range(4)] == [1, 0, 1, 1]


def test_a_post_a_re_drive_marked_sent_first_is_not_counted_again(ddb_env: dict) -> None:
    """`PostsSent` moves with the day's `posts_sent`: once per post that
    moved to sent, not for a post whose guard found it sent already."""
    from chalicelib.campaigns import delivering

    batch = _batch("r", 4)
    assert posts.mark_sent(batch[2][0], NOW)  # a re-drive got there first
    _sent_metric()
    assert delivering.deliver_many(batch, CountingChannel(broken=set()), NOW) == ["sent"] * 4
    assert _sent_metric() == 3
    assert [sent_count(f"r{i}") for i in range(4)] == [1] * 4


def test_a_single_post_delivered_again_is_counted_sent_once(ddb_env: dict) -> None:
    """`deliver` (a clearance post, an outbox re-drive) counts `PostsSent`
    only when its own `mark_sent` moved the post: a second delivery of the
    same post (two re-drives racing) counts nothing."""
    from chalicelib.campaigns import delivering

    (post, groups), = _batch("d", 1)
    _sent_metric()
    assert delivering.deliver(post, CountingChannel(broken=set()), NOW, groups) == "sent"
    assert _sent_metric() == 1
    assert delivering.deliver(post, CountingChannel(broken=set()), NOW, groups) == "sent"
    assert _sent_metric() == 0
    assert sent_count("d0") == 1
