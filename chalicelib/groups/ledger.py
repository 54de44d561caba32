"""The group ledger: which WeCom customer groups each store has and how full
they are, as WeCom reports them (callbacks and `groupchat/get`), linked to
Storeloop's own groups (`GroupRecord`, same `seq`).

- A chat is placed in a store by the tag Storeloop puts in the join way's
  `room_base_name` ("<store name>#<state>#"; WeCom names auto-created groups
  `room_base_name + room_base_id`, so the number is the group's `seq`), by
  the registered seed list, or by the join way `state` its members carry.
- Counts come from `groupchat/get` (the truth at fetch time), never from
  adding up `mem_change_cnt`: redelivered or reordered callbacks cannot
  double-count. Timeline this guards against, two callbacks for one chat:
    A fetches (count 10) ... B fetches (count 11), B writes 11, A writes 10?
  No: each write carries the fetch's start time and is conditioned on
  `synced_us < mine`, so the later fetch always wins.
- `dismiss` is terminal: a late `create`/`update` never revives a chat, and
  the linked Storeloop group loses its robot so posts stop going there.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import logs, txn
from chalicelib.groups.directory import list_other
from chalicelib.groups.ids import group_id
from chalicelib.groups.models import GroupRecord
from chalicelib.wecom.client import WeComClient
from chalicelib.wecom.errors import WeComApiError
from chalicelib.wecom.events import ChatEvent
from chalicelib.wecom.models import StoreJoinWay, WeComChat

log = logs.get_logger("groups.ledger")

CHAT_LIMIT = 200  # WeCom stops admitting through a join way at 200 members
_TAG = re.compile(r"#(sl[a-z2-7]{10})#(\d{1,6})$")


def store_token(store_id: str) -> str:
    """The store's short, stable join-way `state` (12 chars, WeCom allows 30)."""
    digest = base64.b32encode(hashlib.sha256(store_id.encode()).digest()).decode().lower()
    return "sl" + digest[:10]


def room_base_name(store_name: str, token: str) -> str:
    return f"{store_name[:24]}#{token}#"  # <= 38 characters; WeCom allows 40


def parse_room_name(name: str) -> tuple[str, int] | None:
    match = _TAG.search(name or "")
    return (match.group(1), int(match.group(2))) if match else None


def join_way(store_id: str) -> StoreJoinWay | None:
    try:
        return StoreJoinWay.get(store_id, consistent_read=True)
    except DoesNotExist:
        return None


def _store_of_state(state: str) -> str | None:
    for way in StoreJoinWay.by_state.query(state, limit=1):
        return str(way.store_id)
    return None


def get_chat(chat_id: str) -> WeComChat | None:
    try:
        return WeComChat.get(chat_id, consistent_read=True)
    except DoesNotExist:
        return None


def store_chats(store_id: str) -> list[WeComChat]:
    return list(WeComChat.by_store.query(store_id))


def expected_chat(store_id: str) -> WeComChat | None:
    """The group a member scanning now most likely lands in: WeCom fills the
    join way's groups in order and appends the ones it opens; None = all
    full, WeCom opens the next one."""
    for chat in store_chats(store_id):  # in seq order
        if chat.status == "active" and int(chat.member_count) < CHAT_LIMIT:
            return chat
    return None


def _placement(existing: WeComChat | None, info: dict, store_id: str | None,
               seq: int | None) -> tuple[str | None, int | None, str]:
    """(store, seq, origin) of a chat: what the ledger knows, else the caller's
    word, else the room-name tag, else the join-way `state` of its members."""
    if existing is not None and existing.store_id:
        return existing.store_id, (int(existing.seq) if existing.seq is not None else seq), existing.origin
    origin = "seed" if store_id is not None and seq is not None else "auto"
    tag = parse_room_name(str(info.get("name", "")))
    if tag is not None and (store_id is None or tag[0] == store_token(store_id)):
        store_id = store_id or _store_of_state(tag[0])
        if store_id is not None and seq is None:
            seq = tag[1]
    if store_id is None:
        states = {m.get("state") for m in info.get("member_list", []) if isinstance(m, dict) and m.get("state")}
        for state in sorted(s for s in states if isinstance(s, str)):
            store_id = _store_of_state(state)
            if store_id:
                break
    return store_id, seq, origin


def sync(client: WeComClient, chat_id: str, now: datetime, *, store_id: str | None = None,
         seq: int | None = None) -> WeComChat | None:
    """Refresh one chat from `groupchat/get` and place it; None if WeCom has no such chat."""
    started_us = time.time_ns() // 1000
    registering = store_id is not None and seq is not None
    try:
        info = client.group_chat(chat_id)
    except WeComApiError as exc:
        log.info("chat not readable", extra={"fields": {"chat_id": chat_id, "errcode": exc.errcode}})
        return None
    existing = get_chat(chat_id)
    if existing is not None and existing.status == "dismissed":
        return existing
    store_id, seq, origin = _placement(existing, info, store_id, seq)
    members = [m for m in info.get("member_list", []) if isinstance(m, dict)]
    state = None
    if store_id:
        way = join_way(store_id)
        state = way.state if way else None
    actions: list[Action] = [
        WeComChat.name.set(str(info.get("name", ""))[:200]), WeComChat.owner.set(str(info.get("owner", ""))[:64]),
        WeComChat.member_count.set(len(members)),
        WeComChat.customer_count.set(sum(1 for m in members if m.get("type") == 2)),
        WeComChat.via_join_way.set(sum(1 for m in members if state and m.get("state") == state)),
        WeComChat.synced_us.set(started_us), WeComChat.updated_at.set(now),
        WeComChat.status.set(WeComChat.status | "active"),
    ]
    record = WeComChat(chat_id)
    fresher = WeComChat.chat_id.does_not_exist() | (
        (WeComChat.synced_us < started_us) & (WeComChat.status != "dismissed"))
    try:
        record.update(actions=actions, condition=fresher)
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise
        record = get_chat(chat_id) or record  # a fresher sync (or a dismissal) wrote the counts
    # Placement is its own write: a concurrent callback that wins the counts
    # (it read WeCom later) must not lose a registration's store and seq.
    if store_id and (not record.store_id or (registering and record.origin != "seed") or record.seq is None):
        placing: list[Action] = [
            WeComChat.store_id.set(WeComChat.store_id | store_id),
            # staff registering a seed group is authoritative; otherwise the first placement sticks
            WeComChat.origin.set(origin if registering else WeComChat.origin | origin)]
        if seq is not None:
            placing.append(WeComChat.seq.set(WeComChat.seq | seq))
        record.update(actions=placing)
    if record.store_id and record.seq is not None and record.status == "active":
        link_group(str(record.store_id), int(record.seq), chat_id, now)
    return record


def link_group(store_id: str, seq: int, chat_id: str, now: datetime) -> None:
    """Bind Storeloop's group `seq` of the store to the chat (creating the
    group item if no member joined it yet; counts untouched)."""
    from chalicelib.stores.models import StoreRecord

    try:
        capacity = int(StoreRecord.get(store_id).group_capacity)
    except DoesNotExist:
        capacity = CHAT_LIMIT
    try:  # a group that exists was listed when it was made (or is the backfill's): no pointer write per callback
        GroupRecord.get(store_id, seq, consistent_read=True, attributes_to_get=["seq"])
    except DoesNotExist:
        list_other(store_id, seq)  # before the group exists: a batch read of the store's groups finds it
    try:
        GroupRecord(store_id, seq).update(actions=[
            GroupRecord.chat_ref.set(chat_id),
            GroupRecord.group_id.set(GroupRecord.group_id | group_id(store_id, seq)),
            GroupRecord.capacity.set(GroupRecord.capacity | capacity),
            GroupRecord.member_count.set(GroupRecord.member_count | 0),
            GroupRecord.created_at.set(GroupRecord.created_at | now),
        ], condition=GroupRecord.chat_ref.does_not_exist() | (GroupRecord.chat_ref == chat_id))
    except UpdateError as exc:
        if not txn.is_condition_failure(exc):
            raise
        log.warning("group already bound to another chat",
                    extra={"fields": {"store_id": store_id, "seq": seq, "chat_id": chat_id}})


def dismiss(chat_id: str, now: datetime) -> None:
    record = WeComChat(chat_id)
    record.update(actions=[WeComChat.status.set("dismissed"), WeComChat.updated_at.set(now)])
    if record.store_id and record.seq is not None:
        try:  # the chat is gone: stop posting to its robot (the group keeps its history)
            GroupRecord(record.store_id, int(record.seq)).update(
                actions=[GroupRecord.webhook_url.remove()], condition=GroupRecord.chat_ref == chat_id)
        except UpdateError as exc:
            if not txn.is_condition_failure(exc):
                raise


def apply(client: WeComClient, event: ChatEvent, now: datetime) -> tuple[str, WeComChat | None]:
    """Apply one callback event to the ledger: what was done, and the chat."""
    if event.event != "change_external_chat" or not event.chat_id:
        return "ignored", None
    if event.change_type == "dismiss":
        dismiss(event.chat_id, now)
        return "dismissed", get_chat(event.chat_id)
    if event.change_type in ("create", "update"):
        chat = sync(client, event.chat_id, now)
        return ("synced" if chat is not None else "unknown_chat"), chat
    return "ignored", None
