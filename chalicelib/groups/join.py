"""Putting a member in a store's current group: one TransactWrite per
attempt, every invariant a condition inside it, retried on races.

Timeline of one attempt (docs/groups.md has the long version):
1. read the member's membership and the store's `current_seq` (plain reads:
   they only pick what to attempt; the conditions decide what commits);
2. TransactWrite, all or nothing:
   - store is open (condition check),
   - membership: created if absent, or moved if it is still in the group we
     read (so two concurrent joins of one member cannot both commit),
   - group `seq`: `member_count + 1` only if `member_count < capacity`
     (created on first join, with the store's capacity),
   - store pointer: `current_seq == seq` (a group is only created or filled
     while it is the current one), store member_count + 1,
   - on a move: old group and old store member_count - 1,
   - member profile: home_store_id / group_id (UpdateItem, profile untouched),
   - daily stats: members_joined (and members_left on the old store);
3. on cancellation: a full group advances the pointer (guarded by "still
   full" and "still current"), a moved pointer or membership re-reads, a
   lost race (`txn.Contended`) backs off with jitter (`retry.attempts`,
   within the request's budget). Then try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from chalicelib import retry, txn
from chalicelib.clock import local_time
from chalicelib.counters import bump_in
from chalicelib.groups import outcome as oc
from chalicelib.groups.errors import StoreClosed
from chalicelib.groups.ids import group_id
from chalicelib.groups.models import GroupMembership, GroupRecord, StoreGroups
from chalicelib.members.models import MemberRecord
from chalicelib.stores.models import StoreRecord


@dataclass(frozen=True)
class Placement:
    store_id: str
    seq: int
    group_id: str
    moved_from: str | None = None  # the store left, on a move
    created: bool = False  # False: the member was already there (idempotent re-join)


def _membership(member_id: str) -> GroupMembership | None:
    try:
        return GroupMembership.get(member_id, consistent_read=True)
    except DoesNotExist:
        return None


def current_seq(store_id: str) -> int:
    return _pointer(store_id)[0]


def _pointer(store_id: str) -> tuple[int, bool]:
    """The group joins go to now, and whether this join may list the
    store's groups on group 1: only the store's very first join (no
    `current_seq` yet: every group a join makes later is listed by the
    advance that opens it), and only if no WeCom chat link made (or is
    making) groups outside the pointer (`StoreGroups.linked`). A store
    joined before the listing existed is listed by `cli backfill-lists`."""
    try:
        head = StoreGroups.get(store_id, consistent_read=True)
    except DoesNotExist:
        return 1, True
    return int(head.current_seq or 1), head.current_seq is None and not head.linked


def _store_day(store_id: str, now: datetime, fallback_tz: str) -> date:
    try:
        tz = StoreRecord.get(store_id).timezone
    except DoesNotExist:
        tz = fallback_tz
    return local_time(now, tz).date()


def _attempt(member_id: str, store: StoreRecord, seq: int, current: GroupMembership | None,
             now: datetime, may_list: bool = False) -> oc.Outcome | None:
    """One all-or-nothing attempt. None = committed; raises txn.Contended on a lost race."""
    gid = group_id(store.store_id, seq)
    tx = txn.Transaction()
    tx.check(oc.STORE, StoreRecord, store.store_id, condition=StoreRecord.status == "open")

    in_expected_place = (GroupMembership.member_id.does_not_exist() if current is None
                         else GroupMembership.group_id == current.group_id)
    tx.update(oc.MEMBERSHIP, GroupMembership(member_id), [
        GroupMembership.store_id.set(store.store_id), GroupMembership.seq.set(seq),
        GroupMembership.group_id.set(gid), GroupMembership.joined_at.set(now),
    ], condition=in_expected_place)

    # creates the group on its first join; never fills it past the capacity it was created with
    group_actions: list[Action] = [
        GroupRecord.member_count.add(1),
        GroupRecord.capacity.set(GroupRecord.capacity | int(store.group_capacity)),
        GroupRecord.group_id.set(GroupRecord.group_id | gid),
        GroupRecord.created_at.set(GroupRecord.created_at | now),
    ]
    # group 1 lists the store's other groups (directory.groups_of): set by the
    # store's first join unless a chat link made groups outside the pointer
    # (then `cli backfill-lists` lists it); the pointer's condition below
    # keeps that read true until the commit
    lists = seq == 1 and may_list
    if lists:
        group_actions.append(GroupRecord.listed.set(GroupRecord.listed | 1))
    tx.update(oc.GROUP, GroupRecord(store.store_id, seq), group_actions,
              condition=GroupRecord.store_id.does_not_exist() | (GroupRecord.member_count < GroupRecord.capacity))

    # the group must still be the store's current one: a stale reader can
    # neither create group N+2 nor top up an old group after N+1 opened
    pointer_actions: list[Action] = [StoreGroups.member_count.add(1)]
    if seq == 1:
        pointer_actions.append(StoreGroups.current_seq.set(StoreGroups.current_seq | 1))
        is_current = StoreGroups.current_seq.does_not_exist() | (StoreGroups.current_seq == 1)
    else:
        is_current = StoreGroups.current_seq == seq
    if lists:
        is_current = StoreGroups.current_seq.does_not_exist() & StoreGroups.linked.does_not_exist()
    tx.update(oc.POINTER, StoreGroups(store.store_id), pointer_actions, condition=is_current)

    tx.update(oc.MEMBER, MemberRecord(member_id), [
        MemberRecord.home_store_id.set(store.store_id), MemberRecord.group_id.set(gid)])
    bump_in(tx, store.store_id, local_time(now, store.timezone).date(), label=oc.STATS, members_joined=1)

    if current is not None:  # a move: leave the old group in the same transaction
        tx.update(oc.OLD_GROUP, GroupRecord(current.store_id, int(current.seq)),
                  [GroupRecord.member_count.add(-1)], condition=GroupRecord.member_count > 0)
        tx.update(oc.OLD_POINTER, StoreGroups(current.store_id),
                  [StoreGroups.member_count.add(-1)], condition=StoreGroups.member_count > 0)
        bump_in(tx, current.store_id, _store_day(current.store_id, now, store.timezone), label=oc.OLD_STATS,
                members_left=1)
    try:
        tx.commit()
    except txn.Refused as exc:
        result = oc.classify(exc.failed)
        if result is None:
            raise
        return result
    return None


def _advance(store_id: str, seq: int) -> None:
    """Open group seq+1, but only while group `seq` is full and still current:
    concurrent advancers race, exactly one wins, the rest just retry. Group
    1 lists seq+1 in the same transaction (before any join can create it)."""
    tx = txn.Transaction()
    full = GroupRecord.member_count >= GroupRecord.capacity
    lists_next = GroupRecord.others.add({seq + 1})
    if seq == 1:
        tx.update(oc.GROUP, GroupRecord(store_id, 1), [lists_next], condition=full)
    else:
        tx.check(oc.GROUP, GroupRecord, store_id, seq, condition=full)
        tx.update(oc.FIRST_GROUP, GroupRecord(store_id, 1), [lists_next], condition=GroupRecord.store_id.exists())
    tx.update(oc.POINTER, StoreGroups(store_id), [StoreGroups.current_seq.set(seq + 1)],
              condition=StoreGroups.current_seq == seq)
    try:
        tx.commit()
    except txn.Refused:
        pass  # someone else advanced, or a member left and there is room again


def join(member_id: str, store: StoreRecord, now: datetime) -> Placement:
    """Put the member in `store`'s current group, moving them out of any
    other store's group; returns where they are. Races are retried within the
    request's budget (`retry.attempts`), then 503 try_again, nothing written."""
    for _ in retry.attempts(what=f"joining store {store.store_id}"):
        current = _membership(member_id)
        if current is not None and current.store_id == store.store_id:
            return Placement(current.store_id, int(current.seq), current.group_id)
        if store.status != "open":
            raise StoreClosed(f"store {store.store_id} is closed")
        seq, may_list = _pointer(store.store_id)
        try:
            result = _attempt(member_id, store, seq, current, now, may_list)
        except txn.Contended:
            continue
        if result is None:
            return Placement(store.store_id, seq, group_id(store.store_id, seq),
                             moved_from=current.store_id if current else None, created=True)
        if result is oc.Outcome.STORE_CLOSED:
            raise StoreClosed(f"store {store.store_id} is closed")
        if result is oc.Outcome.GROUP_FULL:
            try:
                _advance(store.store_id, seq)
            except txn.Contended:
                pass
    raise AssertionError("retry.attempts ends by raising")
