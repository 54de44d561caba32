"""Read access to a store's groups for other capabilities (posts, stats)."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import txn
from chalicelib.groups.models import GroupRecord, StoreGroups


def store_groups(store_id: str) -> list[GroupRecord]:
    """All groups of a store, in `seq` order (one Query)."""
    return list(GroupRecord.query(store_id))


def groups_of(store_ids: Collection[str]) -> dict[str, list[GroupRecord]]:
    """The groups of a batch of stores (an SQS batch's due stores) by key,
    not a Query each: one BatchGetItem of every store's group 1 (which,
    once `listed`, names the store's other groups in `others`), then one
    of those other groups, if any store has more than one (PynamoDB's
    `batch_get`: 100 keys a request, unprocessed keys asked again). Each
    store's list is what `store_groups` returns (every group, `seq`
    order), read as eventually consistently as its Query; a group created
    after the read is not in it, as after the Query. A store whose group 1
    is absent (no group yet, or only linked ones) or not `listed` (made
    before the listing; `cli backfill-lists` lists it) is NOT in the
    answer: the caller queries it (`store_groups`)."""
    wanted = list(dict.fromkeys(store_ids))
    if not wanted:
        return {}
    found: dict[str, list[GroupRecord]] = {}
    rest: list[tuple[str, int]] = []
    for first in GroupRecord.batch_get([(store_id, 1) for store_id in wanted]):
        if not first.listed:
            continue
        found[first.store_id] = [first]
        rest += [(first.store_id, int(seq)) for seq in sorted(first.others or ()) if int(seq) != 1]
    if rest:
        for group in GroupRecord.batch_get(rest):
            found[group.store_id].append(group)
    for groups in found.values():
        groups.sort(key=lambda g: int(g.seq))
    return found


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
    Returns (stores with a group, stores listed or completed)."""
    seqs: dict[str, set[int]] = {}
    firsts: dict[str, GroupRecord] = {}
    for group in GroupRecord.scan(attributes_to_get=["store_id", "seq", "listed", "others"]):
        seqs.setdefault(group.store_id, set()).add(int(group.seq))
        if int(group.seq) == 1:
            firsts[group.store_id] = group
    # groups a join may still make: up to the pointer, and linked seqs
    noted: dict[str, set[int]] = {}
    for head in StoreGroups.scan(attributes_to_get=["store_id", "current_seq", "linked"]):
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
