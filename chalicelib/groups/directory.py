"""Read access to a store's groups for other capabilities (posts, stats)."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import db, txn
from chalicelib.clock import get_clock
from chalicelib.groups.models import GroupRecord, StoreGroups


def store_groups(store_id: str) -> list[GroupRecord]:
    """All groups of a store, in `seq` order (one Query)."""
    return list(GroupRecord.query(store_id))


LISTING_MARKER = "#listing"  # the `store-groups` key of the deploy-level marker: '#' is never in a store id
BATCH_KEYS = 100  # BatchGetItem's limit, over all its tables
# How long a container trusts a marker it has read without asking again (so
# a due post still reads 3 items, not 3 + one marker per batch). A rollback
# deletes the marker and waits longer than this before older code runs
# (docs/deploy.md step 10).
MARKER_TRUST_S = 60.0
_marker_seen: dict[str, float] = {}  # `store-groups` table -> time.monotonic() the marker was last read


def groups_of(store_ids: Collection[str]) -> dict[str, list[GroupRecord]]:
    """The groups of a batch of stores (an SQS batch's due stores) by key,
    not a Query each: one BatchGetItem of every store's group 1 (which,
    once `listed`, names the store's other groups in `others`) and of the
    stack's listing marker, then one of those other groups and of the
    pointer items of the stores without a group 1, if there are any. Each
    store's list is what `store_groups` returns (every group, `seq` order),
    read as eventually consistently as its Query; a group created after
    the read is not in it, as after the Query.

    Nothing is answered by key unless the marker is there: `cli
    backfill-lists` has completed on this stack (every group an older
    version made is listed on its group 1 or noted on its pointer), and
    nobody has deleted it since. It is asked for with the groups 1 unless
    this container read it less than `MARKER_TRUST_S` ago; a rollback to
    a version older than the listing deletes it and waits longer than that
    before the older code runs (docs/deploy.md step 10), so from then on
    every store is queried. With the marker, a `listed` group 1 names all
    the store's groups, and a store without group 1 has none when its
    pointer item has no `current_seq` (no join made a group) and no
    `linked` seq (no chat link made one, each noted before its group). A
    store it cannot be sure of (a group 1 not `listed`; a pointer naming
    groups; no marker) is NOT in the answer: the caller queries it
    (`store_groups`)."""
    wanted = list(dict.fromkeys(store_ids))
    if not wanted:
        return {}
    db.ensure_bound()  # table names first
    groups, pointers = GroupRecord.Meta.table_name, StoreGroups.Meta.table_name
    firsts: dict[str, GroupRecord] = {}
    marked = time.monotonic() - _marker_seen.get(pointers, -MARKER_TRUST_S) < MARKER_TRUST_S
    asked: list[tuple[str, dict[str, Any]]] = [(groups, _group_key(s, 1)) for s in wanted]
    if not marked:
        asked.append((pointers, {"store_id": {"S": LISTING_MARKER}}))
    for table, item in _batch_get(asked):
        if table == pointers:
            marked = True
            _marker_seen[pointers] = time.monotonic()
            continue
        firsts[item["store_id"]["S"]] = GroupRecord.from_raw_data(item)
    if not marked:
        return {}  # backfill-lists has not completed here (or a rollback is under way): every store's Query
    found: dict[str, list[GroupRecord]] = {}
    asked = []
    for store_id in wanted:
        first = firsts.get(store_id)
        if first is None:  # no group 1: its pointer says whether there can be other groups
            asked.append((pointers, {"store_id": {"S": store_id}}))
            continue
        if not first.listed:
            continue
        found[store_id] = [first]
        asked += [(groups, _group_key(store_id, int(seq))) for seq in sorted(first.others or ()) if int(seq) != 1]
    unsure: set[str] = set()
    heads: set[str] = {key["store_id"]["S"] for table, key in asked if table == pointers}
    for table, item in _batch_get(asked):
        if table == groups:
            group = GroupRecord.from_raw_data(item)
            found[group.store_id].append(group)
        elif "current_seq" in item or item.get("linked", {}).get("NS"):
            unsure.add(item["store_id"]["S"])  # a group outside group 1, or one a join made meanwhile
    for store_id in heads - unsure:
        found[store_id] = []
    for mine in found.values():
        mine.sort(key=lambda g: int(g.seq))
    return found


def _group_key(store_id: str, seq: int) -> dict[str, Any]:
    return {"store_id": {"S": store_id}, "seq": {"N": str(seq)}}


def _batch_get(keys: list[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, raw item) for each key found: one BatchGetItem per 100 keys
    over their tables, unprocessed keys asked again (paced by `db`'s hook,
    as PynamoDB's `batch_get` is)."""
    client = db.connection().client
    for first in range(0, len(keys), BATCH_KEYS):
        pending: dict[str, Any] = {}
        for table, key in keys[first:first + BATCH_KEYS]:
            pending.setdefault(table, {"Keys": []})["Keys"].append(key)
        while pending:
            reply = client.batch_get_item(RequestItems=pending)
            for table, items in reply.get("Responses", {}).items():
                for item in items:
                    yield table, item
            pending = reply.get("UnprocessedKeys") or {}


def mark_listing_complete() -> None:
    """`cli backfill-lists`, once it has listed and noted every older
    group (or `cli create-tables`, which made the groups table just now):
    the marker without which `groups_of` answers nothing by key
    (docs/deploy.md step 10: delete it, and wait past `MARKER_TRUST_S`,
    before running a version older than the listing against these tables)."""
    client = db.connection().client
    client.put_item(TableName=StoreGroups.Meta.table_name,
                    Item={"store_id": {"S": LISTING_MARKER}, "listed_at": {"S": get_clock().now().isoformat()}})
    _marker_seen[StoreGroups.Meta.table_name] = time.monotonic()  # this container knows it is there


def list_other(store_id: str, seq: int) -> None:
    """Before a group other than 1 is created outside the join pointer (a
    WeCom chat linked at `seq`): the store's pointer item notes the seq
    (so a join creating group 1 later does not list the store without
    it), then group 1, if it is there, lists it. Both are set additions:
    repeats and races only add."""
    if seq == 1:
        return
    StoreGroups(store_id).update(actions=[StoreGroups.linked.add({seq})])
    try:
        GroupRecord(store_id, 1).update(actions=[GroupRecord.others.add({seq})],
                                        condition=GroupRecord.store_id.exists())
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise  # no group 1 yet: the store is read by Query until a join lists it


def backfill_listing(dry_run: bool = False) -> tuple[int, int]:
    """`cli backfill-lists`: make every store's group 1 list all its other
    groups: those made before the listing, and a join pointer's next group
    an older advance opened. One Scan of the groups' keys, one of the
    pointers; per store whose group 1 is unlisted or misses a seq, one
    UpdateItem on group 1 (ADD the missing seqs, SET listed); per store with
    groups but no group 1, its seqs noted on the pointer (`list_other`). Set
    ADDs, so a concurrent join, advance or link adding its own seq is kept.
    Then, unless `dry_run`, the marker (`mark_listing_complete`): from now
    on a store with no group 1 and a bare pointer has no group. The groups'
    Scan reads consistently, so a group an older version made before the
    run (the deploy replaced it) is never missed. Returns (stores with a
    group, stores listed or completed)."""
    seqs: dict[str, set[int]] = {}
    firsts: dict[str, GroupRecord] = {}
    for group in GroupRecord.scan(attributes_to_get=["store_id", "seq", "listed", "others"], consistent_read=True):
        seqs.setdefault(group.store_id, set()).add(int(group.seq))
        if int(group.seq) == 1:
            firsts[group.store_id] = group
    # groups a join may still make: up to the pointer, and linked seqs
    noted: dict[str, set[int]] = {}
    for head in StoreGroups.scan(attributes_to_get=["store_id", "current_seq", "linked"]):
        if head.store_id == LISTING_MARKER:
            continue
        noted[head.store_id] = {int(s) for s in head.linked or ()}
        if head.store_id in firsts:
            seqs[head.store_id] |= set(range(2, int(head.current_seq or 1) + 1)) | {int(s) for s in head.linked or ()}
    done = 0
    # stores with groups but no group 1 (chats an older version linked): the
    # pointer notes their seqs, so the join that makes group 1 does not list
    # the store without them (it stays on its Query until a backfill lists it)
    for store_id in sorted(set(seqs) - set(firsts)):
        unnoted = seqs[store_id] - {1} - noted.get(store_id, set())
        if not unnoted:
            continue
        if not dry_run:
            for seq in sorted(unnoted):
                list_other(store_id, seq)
        done += 1
    for store_id, first in sorted(firsts.items()):
        missing = seqs[store_id] - {1} - {int(s) for s in first.others or ()}
        if first.listed and not missing:
            continue
        actions: list[Action] = [GroupRecord.listed.set(1)]
        if missing:
            actions.append(GroupRecord.others.add(missing))
        if not dry_run:
            try:  # never makes a group 1 that is not there
                GroupRecord(store_id, 1).update(actions=actions, condition=GroupRecord.store_id.exists())
            except UpdateError as exc:
                if not txn.is_condition_failure(exc):
                    raise
                continue
        done += 1
    if not dry_run:
        mark_listing_complete()
    return len(seqs), done


SCAN_MIN_STORES = 100  # below this many stores, a Query each is the cheaper read
SCAN_SEGMENTS = 4  # a parallel Scan's segments, read at once


def groups_by_store(store_ids: Collection[str]) -> dict[str, list[GroupRecord]] | None:
    """The groups of many stores at once (a noon tick's due stores): one
    parallel Scan of the whole `groups` table, a handful of requests
    instead of a Query per store, chosen only when the table holds at most
    two groups per store asked (its ItemCount from DescribeTable, which AWS
    refreshes about every six hours), so the Scan reads at most about what
    the Queries would. None when per-store Queries are the better read.
    Eventually consistent, like the Queries; every store asked is in the
    answer (an empty list for a store with no group), groups in `seq` order."""
    wanted = set(store_ids)
    if len(wanted) < SCAN_MIN_STORES:
        return None
    if int(GroupRecord.describe_table().get("ItemCount", 0)) > 2 * len(wanted):
        return None

    def segment(index: int) -> list[GroupRecord]:
        return list(GroupRecord.scan(segment=index, total_segments=SCAN_SEGMENTS))

    with ThreadPoolExecutor(max_workers=SCAN_SEGMENTS) as pool:
        pages = list(pool.map(segment, range(SCAN_SEGMENTS)))
    found: dict[str, list[GroupRecord]] = {store_id: [] for store_id in wanted}
    for page in pages:
        for group in page:
            if group.store_id in found:
                found[group.store_id].append(group)
    for groups in found.values():
        groups.sort(key=lambda g: int(g.seq))
    return found


def get_group(store_id: str, seq: int) -> GroupRecord | None:
    """One group, read consistently (it reflects every committed join)."""
    try:
        return GroupRecord.get(store_id, seq, consistent_read=True)
    except DoesNotExist:
        return None
