"""A batch of stores reads its groups by key (`directory.groups_of`), on
DynamoDB Local: exactly what a Query per store (`store_groups`) returns,
for stores with no group, one, several (joins that overflowed), groups
linked from WeCom chats at other seqs, and groups made before the listing
(after `backfill_listing`). Through the real SQS consumer, a due post then
costs no group request of its own, and a failed batch read falls back to a
Query per store with the same posts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import db
from chalicelib.campaigns import posts, worker
from chalicelib.campaigns.store_config import save_store
from chalicelib.cli import main
from chalicelib.groups import directory, join, ledger
from chalicelib.groups.models import GroupRecord
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.schemas import StoreIn
from tests.integration.test_campaign_days import DAY, fake_offers, sh, tick  # noqa: F401
from tests.integration.test_post_batches import _Record, due_records, requests_on

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 19, 2, 0, tzinfo=UTC)


def shop(store_id: str, capacity: int = 200) -> StoreRecord:
    body = StoreIn(name="政立路店", city="上海市", lat=31.3, lng=121.5, timezone="Asia/Shanghai",
                   member_day=None, idle_hour=None, group_capacity=capacity)
    save_store(store_id, body, datetime(2026, 11, 1, tzinfo=UTC))
    return StoreRecord.get(store_id, consistent_read=True)


def joins(store: StoreRecord, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        join.join(f"{store.store_id}-m{i}", store, NOW)


@pytest.fixture
def listed(ddb_env: dict) -> None:
    """A stack whose listing is complete (`cli backfill-lists` ran, or
    `cli create-tables` made its groups table): its marker is there."""
    directory.mark_listing_complete()


def view(groups: list[GroupRecord]) -> list[tuple[Any, ...]]:
    return [(g.store_id, int(g.seq), g.group_id, int(g.member_count), int(g.capacity), g.chat_ref, g.webhook_url)
            for g in groups]


def per_store(store_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """What the batch path hands a post: the by-key read, else the store's Query."""
    found = directory.groups_of(store_ids)
    return {s: view(found[s]) if s in found else view(directory.store_groups(s)) for s in store_ids}


def truth(store_ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    return {s: view(directory.store_groups(s)) for s in store_ids}


@pytest.mark.usefixtures("listed")
def test_the_by_key_read_is_exactly_the_query_for_every_kind_of_store(ddb_env: dict) -> None:
    shop("none")
    one, several = shop("one"), shop("several", capacity=2)
    joins(one, 1)
    joins(several, 5)  # groups 1 and 2 full, 3 holds one: the pointer advanced twice
    linked = shop("linked", capacity=2)
    joins(linked, 3)
    ledger.link_group("linked", 7, "chat-7", NOW)  # a WeCom chat at seq 7 (room name #...#7)
    GroupRecord("linked", 7).update(actions=[GroupRecord.webhook_url.set("http://127.0.0.1:9/robot7")])
    ids = ["none", "one", "several", "linked"]

    found = directory.groups_of(ids + ["absent"])
    assert {s: [int(g.seq) for g in found[s]] for s in found} == {"one": [1], "several": [1, 2, 3],
                                                                  "linked": [1, 2, 7], "none": [], "absent": []}
    assert per_store(ids) == truth(ids)
    assert truth(["none"]) == {"none": []}

    # a group made after the read is simply not in it; the next read has it
    joins(several, 2, first=5)  # group 3 fills, the next opens group 4
    assert [int(g.seq) for g in found["several"]] == [1, 2, 3]
    assert [int(g.seq) for g in directory.groups_of(["several"])["several"]] == [1, 2, 3, 4]
    assert per_store(ids) == truth(ids)


def test_a_chat_linked_before_the_first_join_leaves_the_store_to_its_query_until_the_backfill(
        ddb_env: dict, capsys: pytest.CaptureFixture[str]) -> None:
    """A chat linked at seq 3 while the store has no group 1: the join that
    then creates group 1 sees the linked seq on the pointer and does not
    list the store (its Query stays exact); `backfill_listing` lists it.
    Groups made before the listing (no `listed`) are queried, then listed."""
    store = shop("early")
    ledger.link_group("early", 3, "chat-3", NOW)
    joins(store, 2)
    legacy = shop("legacy")
    for seq in (1, 2, 4):  # made by an older version: nothing lists them
        GroupRecord("legacy", seq, group_id=f"legacy.{seq}", capacity=200, member_count=5, created_at=NOW).save()
    assert legacy.store_id == "legacy"
    ids = ["early", "legacy"]
    assert directory.groups_of(ids) == {}
    assert per_store(ids) == truth(ids)
    assert [int(g.seq) for g in directory.store_groups("early")] == [1, 3]
    # an older version linked a chat at seq 5 (no `linked` noted), then this version's first join
    # made group 1 and listed it without 5: until the backfill's marker no listing is trusted
    gap = shop("gap")
    GroupRecord("gap", 5, group_id="gap.5", capacity=200, member_count=0, chat_ref="c5", created_at=NOW).save()
    joins(gap, 1)
    assert directory.groups_of(["gap"]) == {}
    ids.append("gap")
    assert per_store(ids) == truth(ids)

    assert main(["backfill-lists", "--dry-run"]) == 0
    assert "group listings: 3 stores with groups, would list 3" in capsys.readouterr().out
    assert directory.groups_of(ids) == {}  # a dry run writes no marker
    assert main(["backfill-lists"]) == 0
    assert "group listings: 3 stores with groups, listed 3" in capsys.readouterr().out
    found = directory.groups_of(ids)
    assert {s: [int(g.seq) for g in found[s]] for s in found} == {"early": [1, 3], "legacy": [1, 2, 4],
                                                                  "gap": [1, 5]}
    assert per_store(ids) == truth(ids)
    assert directory.backfill_listing() == (3, 0)  # nothing left to list


def _due_messages(ids: list[str]) -> list[str]:
    return [record.body for record in due_records(len(ids))]


class _Requests:
    def __init__(self) -> None:
        self.by_op: Counter[str] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.by_op[model.name] += 1


def _consume(bodies: list[str]) -> tuple[dict, Counter[str]]:
    from chalicelib.campaigns.fanout import process_records
    from chalicelib.delivery.record import RecordChannel

    meter = _Requests()
    events = db.connection().client.meta.events
    events.register("after-call.dynamodb", meter)
    try:
        reply = process_records([_Record(b, f"m{i}") for i, b in enumerate(bodies)], sh("08:30"), RecordChannel())
    finally:
        events.unregister("after-call.dynamodb", meter)
    return reply, meter.by_op


def _stores_with_groups(prefix: str) -> list[str]:
    ids = []
    for i in range(6):
        store = shop(f"{prefix}{i}", capacity=2)
        joins(store, i)  # 0..5 members: no group, 1 group, ..., 3 groups
        ids.append(store.store_id)
    return ids


@pytest.mark.usefixtures("fake_offers")
@pytest.mark.usefixtures("listed")
def test_an_sqs_batch_reads_its_stores_groups_in_two_requests(ddb_env: dict) -> None:
    """Six due stores in one SQS batch (0 to 3 groups each): the stores'
    groups cost one BatchGetItem of their groups 1 (and the listing
    marker) and one of their other groups (and the group-less store's
    pointer): no Query. Every post names exactly its store's groups."""
    ids = _stores_with_groups("b")
    reply, requests = _consume(_due_messages(ids))
    assert reply == {"batchItemFailures": []}
    # stores+plans+marks, groups 1, other groups; the tick-wide outbox and slot reads are not in
    # this window (the messages were enqueued before)
    assert requests["BatchGetItem"] == 3
    assert requests["Query"] == 0
    expected = {s: [g.group_id for g in directory.store_groups(s)] for s in ids}
    assert expected["b0"] == [] and expected["b5"] == ["b5.1", "b5.2", "b5.3"]
    for store_id in ids:
        (post,) = posts.for_day(store_id, DAY)
        assert post.status == "sent" and post.group_ids == expected[store_id]


@pytest.mark.usefixtures("fake_offers")
def test_a_failed_batch_read_falls_back_to_a_query_per_store_with_the_same_posts(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _stores_with_groups("f")

    def broken(store_ids: Any) -> Any:
        raise RuntimeError("BatchGetItem failed")

    monkeypatch.setattr(worker, "groups_of", broken)
    reply, requests = _consume(_due_messages(ids))
    assert reply == {"batchItemFailures": []}
    assert requests["BatchGetItem"] == 1  # the stores only
    assert requests["Query"] == len(ids)  # each store's groups
    for store_id in ids:
        (post,) = posts.for_day(store_id, DAY)
        assert post.status == "sent"
        assert post.group_ids == [g.group_id for g in directory.store_groups(store_id)]
    assert [len(posts.for_day(s, DAY)[0].group_ids or []) for s in ids] == [0, 1, 1, 2, 2, 3]


@pytest.mark.usefixtures("listed")
def test_the_listing_holds_when_a_pointer_advance_meets_a_link(ddb_env: dict) -> None:
    """Seq 2 opened by the pointer and linked from a chat (both add to the
    same set): listed once, read once."""
    store = shop("both", capacity=1)
    joins(store, 1)
    ledger.link_group("both", 2, "chat-2", NOW)
    joins(store, 1, first=1)  # group 1 full: the pointer advances to 2, the join fills it
    assert per_store(["both"]) == truth(["both"])
    assert [int(g.seq) for g in directory.groups_of(["both"])["both"]] == [1, 2]
    assert int(directory.store_groups("both")[1].member_count) == 1


@pytest.mark.usefixtures("listed")
def test_reads_racing_joins_that_open_groups_miss_no_group_that_existed_before_them(ddb_env: dict) -> None:
    """Four threads join 40 members into a store of 2-member groups (20
    groups opened by racing advances) while a reader takes, again and
    again, a Query, the by-key read, and a Query: each by-key read holds at
    least every group the Query before it saw, and nothing the Query after
    it did not (a group opened meanwhile may or may not be in it)."""
    import threading

    store = shop("race", capacity=2)
    joins(store, 1)  # group 1 exists and lists
    done = threading.Event()
    checked: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []

    def joiner(n: int) -> None:
        try:
            for i in range(10):
                join.join(f"race-t{n}-{i}", store, NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                before = {int(g.seq) for g in directory.store_groups("race")}
                during = {int(g.seq) for g in directory.groups_of(["race"])["race"]}
                after = {int(g.seq) for g in directory.store_groups("race")}
                assert before <= during <= after, (before, during, after)
                checked.append((len(before), len(during), len(after)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=joiner, args=(n,)) for n in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    assert len(checked) >= 5 and checked[0][0] < checked[-1][2]  # the reads overlapped the growth
    assert [int(g.seq) for g in directory.groups_of(["race"])["race"]] == list(range(1, 22))
    assert per_store(["race"]) == truth(["race"])


def test_a_join_into_a_group_1_made_before_the_listing_does_not_list_it(ddb_env: dict) -> None:
    """Made by an older version: group 1 with room, the pointer at 1, and a
    chat an older version linked at seq 2 (no `linked` noted). A join after
    the deploy, before the backfill, must not mark group 1 listed (it would
    name no other group and posts would skip group 2's members)."""
    from chalicelib.groups.models import StoreGroups

    store = shop("old1")
    GroupRecord("old1", 1, group_id="old1.1", capacity=200, member_count=3, created_at=NOW).save()
    GroupRecord("old1", 2, group_id="old1.2", capacity=200, member_count=0, chat_ref="c2", created_at=NOW).save()
    StoreGroups("old1", current_seq=1, member_count=3).save()
    joins(store, 2)
    assert directory.groups_of(["old1"]) == {}  # not listed: its Query stays exact
    assert per_store(["old1"]) == truth(["old1"])
    directory.backfill_listing()
    assert [int(g.seq) for g in directory.groups_of(["old1"])["old1"]] == [1, 2]


def test_the_backfill_notes_groups_of_a_store_without_group_1_so_its_first_join_does_not_list_it(
        ddb_env: dict) -> None:
    store = shop("nofirst")
    GroupRecord("nofirst", 2, group_id="nofirst.2", capacity=200, member_count=0, chat_ref="c2",
                created_at=NOW).save()  # an older version's chat link; no group 1, no pointer
    assert directory.backfill_listing() == (1, 1)
    assert directory.backfill_listing() == (1, 0)  # noted once
    joins(store, 1)  # the store's first join makes group 1
    assert directory.groups_of(["nofirst"]) == {}  # the linked seq keeps it on its Query
    assert per_store(["nofirst"]) == truth(["nofirst"])
    directory.backfill_listing()
    assert [int(g.seq) for g in directory.groups_of(["nofirst"])["nofirst"]] == [1, 2]


@pytest.mark.usefixtures("listed")
def test_linking_a_chat_to_a_group_that_exists_writes_nothing_to_the_pointer(ddb_env: dict) -> None:
    from chalicelib.groups.models import StoreGroups

    store = shop("bound", capacity=2)
    joins(store, 3)  # groups 1 and 2, both made by joins (group 2 listed by the advance)
    ledger.link_group("bound", 2, "chat-2", NOW)
    ledger.link_group("bound", 2, "chat-2", NOW)  # every callback re-syncs the chat
    assert StoreGroups.get("bound", consistent_read=True).linked is None  # the joins' hot item left alone
    assert GroupRecord.get("bound", 2, consistent_read=True).chat_ref == "chat-2"
    assert [int(g.seq) for g in directory.groups_of(["bound"])["bound"]] == [1, 2]


@pytest.mark.usefixtures("listed")
def test_a_malformed_slots_message_does_not_fail_the_batchs_group_read(ddb_env: dict) -> None:
    one, two = shop("r1"), shop("r2")
    joins(one, 1)
    joins(two, 1)
    messages = [{"type": "slots"}, {"type": "slots", "store_id": "r1"}, {"type": "slots", "store_id": "r2"}]
    found = worker.read_groups(messages, None, None)
    assert found is not None and sorted(found) == ["r1", "r2"]


def test_a_chat_linked_between_the_first_joins_read_and_its_commit_keeps_the_store_unlisted(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first join reads the pointer (no groups, no links), then a WeCom
    chat is linked at seq 3 before the join commits: the join's pointer
    condition (`linked` still absent) refuses it, the retry reads the link
    and does not list group 1, so the store stays on its exact Query."""
    store = shop("race")
    real = join._pointer
    linked: list[int] = []

    def read_then_link(store_id: str) -> tuple[int, bool]:
        seen = real(store_id)
        if not linked:
            linked.append(3)
            ledger.link_group(store_id, 3, "chat-3", NOW)  # lands after the read, before the commit
        return seen

    monkeypatch.setattr(join, "_pointer", read_then_link)
    joins(store, 1)
    assert [int(g.seq) for g in directory.store_groups("race")] == [1, 3]
    assert directory.groups_of(["race"]) == {}  # not listed short of group 3
    assert per_store(["race"]) == truth(["race"])


def _older_version_groups() -> list[str]:
    """Stores as an older version left them, plus this version's kinds:
    - `none`: no group at all (no pointer either);
    - `one`, `several`: made by this version's joins (several overflowed);
    - `linked`: only a chat this version linked at seq 4 (noted on the pointer, no group 1);
    - `legacy`: groups 1, 2 an older version made (group 1 not listed);
    - `oldlink`: only a chat an older version linked at seq 5: no group 1, no pointer, no note.
    The last is why "no group 1, no pointer" alone is not "no groups"."""
    shop("none")
    joins(shop("one"), 1)
    joins(shop("several", capacity=2), 5)
    shop("linked")
    ledger.link_group("linked", 4, "chat-4", NOW)
    shop("legacy")
    for seq in (1, 2):
        GroupRecord("legacy", seq, group_id=f"legacy.{seq}", capacity=200, member_count=5, created_at=NOW).save()
    shop("oldlink")
    GroupRecord("oldlink", 5, group_id="oldlink.5", capacity=200, member_count=0, chat_ref="c5",
                created_at=NOW).save()
    return ["none", "one", "several", "linked", "legacy", "oldlink"]


def test_a_store_with_no_group_is_known_to_have_none_only_after_the_backfill(ddb_env: dict) -> None:
    """Before `backfill-lists` has completed (no marker), a store without
    group 1 is left to its Query: `oldlink`'s only group cannot be told
    from nothing. After it, `none` is answered with no groups (no Query),
    `linked` and `oldlink` (noted on their pointers) are still queried,
    and every answer equals the Query, before and after."""
    from chalicelib.groups.models import StoreGroups

    ids = _older_version_groups()
    assert directory.groups_of(ids) == {}  # no marker: no answer by key, not even a listed group 1
    assert per_store(ids) == truth(ids)
    assert truth(["none", "oldlink"]) == {"none": [], "oldlink": [("oldlink", 5, "oldlink.5", 0, 200, "c5", None)]}

    directory.backfill_listing(dry_run=True)  # writes nothing, the marker neither
    assert directory.groups_of(ids) == {}
    directory.backfill_listing()
    marker = StoreGroups.get(directory.LISTING_MARKER, consistent_read=True)  # the item, not a store's pointer
    assert marker.current_seq is None and marker.linked is None
    found = directory.groups_of(ids)
    assert {s: [int(g.seq) for g in found[s]] for s in found} == {"none": [], "one": [1], "several": [1, 2, 3],
                                                                  "legacy": [1, 2]}
    assert per_store(ids) == truth(ids)
    assert directory.backfill_listing() == (5, 0)  # the marker is not a store

    # later groups keep the answer exact: a first join, and a chat linked where no group 1 is
    joins(StoreRecord.get("none"), 1)
    shop("later")
    ledger.link_group("later", 3, "chat-3", NOW)
    ids += ["later"]
    assert [int(g.seq) for g in directory.groups_of(["none"])["none"]] == [1]
    assert "later" not in directory.groups_of(ids)
    assert per_store(ids) == truth(ids)


def test_the_marker_is_trusted_for_a_minute_and_its_deletion_turns_the_answers_off(ddb_env: dict) -> None:
    """The marker rides in the groups-1 BatchGetItem (one more key, no more
    requests) unless this container read it less than `MARKER_TRUST_S`
    ago; group-less stores cost one more BatchGetItem of their pointers,
    never a Query. A rollback deletes it and waits past that (docs/deploy.md
    step 10): the next batch answers nothing by key, so an older version's
    groups (a chat linked at seq 5, an advance of a listed store that its
    group 1 does not list) are found by the Query, never skipped."""
    from chalicelib.groups.models import StoreGroups

    shop("g0")
    joins(shop("g1", capacity=2), 2)  # group 1, full and listed
    directory.backfill_listing()
    meter = _Requests()
    events = db.connection().client.meta.events
    seen: list[list[str]] = []

    def tables(params: dict, **_: Any) -> None:
        seen.append(sorted(params.get("RequestItems", {})))

    events.register("after-call.dynamodb", meter)
    events.register("provide-client-params.dynamodb.BatchGetItem", tables)
    try:
        assert {s: [int(g.seq) for g in v] for s, v in directory.groups_of(["g0", "g1"]).items()} == \
            {"g0": [], "g1": [1]}
        assert directory.groups_of(["g0"]) == {"g0": []}  # read less than MARKER_TRUST_S ago: not asked again
        db.connection().client.delete_item(TableName=StoreGroups.Meta.table_name,
                                           Key={"store_id": {"S": directory.LISTING_MARKER}})
        directory._marker_seen.clear()  # the rollback waits past MARKER_TRUST_S before older code runs
        # the older version, during the rollback: a chat linked at g0's seq 5, g1's pointer advanced
        GroupRecord("g0", 5, group_id="g0.5", capacity=200, member_count=0, chat_ref="c5", created_at=NOW).save()
        StoreGroups("g1").update(actions=[StoreGroups.current_seq.set(2)])
        GroupRecord("g1", 2, group_id="g1.2", capacity=2, member_count=1, created_at=NOW).save()
        assert directory.groups_of(["g0", "g1"]) == {}
    finally:
        events.unregister("after-call.dynamodb", meter)
        events.unregister("provide-client-params.dynamodb.BatchGetItem", tables)
    assert meter.by_op == Counter({"BatchGetItem": 5, "DeleteItem": 1, "PutItem": 2, "UpdateItem": 1})
    groups, pointers = GroupRecord.Meta.table_name, StoreGroups.Meta.table_name
    # backfill-lists wrote the marker in this container: trusted from the start, then asked again
    assert seen == [[groups], [pointers], [groups], [pointers], sorted([groups, pointers])]
    ids = ["g0", "g1"]
    assert per_store(ids) == truth(ids)
    assert [int(g.seq) for g in directory.store_groups("g0")] == [5]
    # rolled forward, backfill-lists again (docs/deploy.md): both listed, the marker back
    directory.backfill_listing()
    found = directory.groups_of(ids)
    assert {s: [int(g.seq) for g in found[s]] for s in found} == {"g1": [1, 2]}  # g0: noted, so queried
    assert per_store(ids) == truth(ids)


def _short_once(monkeypatch: pytest.MonkeyPatch, which_call: int) -> None:
    """The `which_call`-th BatchGetItem from now answers with every key unprocessed."""
    import json
    from types import SimpleNamespace

    from chalicelib import retry

    state = {"n": 0}

    def answer(params: dict[str, Any], **_: Any) -> Any:
        state["n"] += 1
        if state["n"] != which_call:
            return None
        asked = json.loads(params["body"])["RequestItems"]
        return SimpleNamespace(status_code=200), {"Responses": {t: [] for t in asked}, "UnprocessedKeys": asked}

    events = db.connection().client.meta.events
    events.register("before-call.dynamodb.BatchGetItem", answer, unique_id="test-short")
    monkeypatch.setattr(retry.time, "sleep", lambda s: None)


@pytest.mark.parametrize("which", [1, 2])
def test_keys_a_batch_read_leaves_unprocessed_are_asked_again(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """A key DynamoDB leaves unprocessed is never read as absent: not the
    group 1 a chat linked at seq 1 (no pointer item: it would read as "no
    groups"; first read), nor a pointer noting a linked seq (second read)."""
    from chalicelib.groups.models import StoreGroups

    shop("s1")
    shop("lk")
    shop("none")
    ledger.link_group("s1", 1, "chat-1", NOW)
    ledger.link_group("lk", 4, "chat-4", NOW)
    directory.backfill_listing()
    assert StoreGroups.count("s1") == 0
    _short_once(monkeypatch, which)
    try:
        found = directory.groups_of(["s1", "lk", "none"])
    finally:
        db.connection().client.meta.events.unregister("before-call.dynamodb.BatchGetItem", unique_id="test-short")
    assert {s: [int(g.seq) for g in v] for s, v in found.items()} == {"s1": [1], "none": []}  # lk: queried


def test_a_chat_linked_or_a_first_join_between_the_two_reads_is_not_answered_as_no_group(
        ddb_env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Group 1 read absent, then a chat is linked (or the first join lands)
    before the pointers are read: the pointer shows it, so the store is
    queried (and the Query has the group), never answered as group-less."""
    shop("lk")
    shop("jn")
    directory.backfill_listing()
    real = directory._batch_get
    calls: list[int] = []

    def between(keys: list) -> Any:
        calls.append(len(keys))
        if len(calls) == 2:  # after the groups 1, before the pointers
            ledger.link_group("lk", 6, "chat-6", NOW)
            joins(StoreRecord.get("jn"), 1)
        return real(keys)

    monkeypatch.setattr(directory, "_batch_get", between)
    assert directory.groups_of(["lk", "jn"]) == {}
    assert len(calls) == 2
    assert per_store(["lk", "jn"]) == {"lk": [("lk", 6, "lk.6", 0, 200, "chat-6", None)],
                                       "jn": [("jn", 1, "jn.1", 1, 200, None, None)]}


def test_reads_racing_first_joins_and_links_at_group_less_stores_miss_no_group_that_existed_before(
        ddb_env: dict) -> None:
    """After the backfill: two threads make groups at stores that had none
    (joins that create group 1 and overflow it, chats linked at seq 9+)
    while a reader takes a Query, the batch path's answer (by key, else the
    Query) and a Query, again and again: before ⊆ during ⊆ after."""
    import threading

    stores = [shop(f"z{i}", capacity=2) for i in range(4)]
    directory.backfill_listing()
    ids = [s.store_id for s in stores]
    done, first_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    checked: list[int] = []

    def seqs(view_: dict[str, list[tuple[Any, ...]]]) -> dict[str, set[int]]:
        return {s: {row[1] for row in rows} for s, rows in view_.items()}

    def joiner() -> None:
        try:
            for store in stores[:2]:
                joins(store, 7)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def linker() -> None:
        try:
            for n, store_id in enumerate(ids[1:]):
                ledger.link_group(store_id, 9 + n, f"chat-{store_id}", NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not done.is_set():
                before, during, after = seqs(truth(ids)), seqs(per_store(ids)), seqs(truth(ids))
                for s in ids:
                    assert before[s] <= during[s] <= after[s], (s, before[s], during[s], after[s])
                checked.append(sum(len(v) for v in after.values()))
                first_read.set()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            first_read.set()

    watcher = threading.Thread(target=reader)
    watcher.start()
    first_read.wait(timeout=30)  # the first read sees no group; the makers start after it
    makers = [threading.Thread(target=joiner), threading.Thread(target=linker)]
    for t in makers:
        t.start()
    for t in makers:
        t.join()
    done.set()
    watcher.join()
    assert errors == []
    assert len(checked) >= 3 and checked[0] == 0 < checked[-1]
    assert seqs(per_store(ids)) == seqs(truth(ids)) == {"z0": {1, 2, 3, 4}, "z1": {1, 2, 3, 4, 9}, "z2": {10},
                                                        "z3": {11}}


def test_a_groups_table_made_by_create_tables_is_listed_from_the_start(
        dynamodb_local: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`cli create-tables` (the local stack's first step) that makes the
    groups table writes the listing marker: no older version made a group
    in it, so a store with none is answered without a Query at once."""
    from tests.conftest import unique_prefix, use_environment

    use_environment(monkeypatch, **dynamodb_local.env(), STORELOOP_TABLE_PREFIX=unique_prefix())
    assert main(["create-tables"]) == 0
    assert "group listing marker: written" in capsys.readouterr().out
    shop("N1")
    with requests_on("groups") as sent:
        assert directory.groups_of(["N1"]) == {"N1": []}
    assert "Query" not in sent
    assert main(["create-tables"]) == 0  # the tables exist: nothing new is vouched for
    assert "marker" not in capsys.readouterr().out
    # an older stack's tables (no marker, groups made before the listing) are not vouched for either
    from chalicelib.groups.models import StoreGroups

    StoreGroups(directory.LISTING_MARKER).delete()
    directory._marker_seen.clear()  # past MARKER_TRUST_S
    GroupRecord("N2", 5, group_id="N2.5", capacity=200, member_count=0, chat_ref="c5", created_at=NOW).save()
    assert main(["create-tables"]) == 0
    assert directory.groups_of(["N2"]) == {}  # still no marker: N2 is queried and its chat found
