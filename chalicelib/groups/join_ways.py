"""A store's WeCom 「加入群聊」 join way, created and kept by Storeloop.

Staff create the store's first customer group(s) in the WeCom client (no
server API creates one or pulls a customer in) and register their chat ids;
Storeloop then configures the join way: those chats, `auto_create_room=1`
with `room_base_name` "<store>#<state>#" and `room_base_id` = the next seq,
`state` = the store's token. WeCom itself opens the next group when the
listed ones are full; the ledger picks it up from the callback.

Creating the first join way is guarded. Timeline it protects against:
  A reads "no join way", B reads "no join way", both call add_join_way:
  the store gets two QR codes and only one is remembered.
Instead each puts a placeholder on "no item yet": one wins and calls
`add_join_way`; the other answers 409 `join_way_busy` (or, once the config
id is saved, updates it). A failed `add_join_way` deletes its placeholder;
one left by a crashed request is taken over after `STALE_CLAIM`."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import DeleteError, PutError

from chalicelib import txn
from chalicelib.errors import Conflict
from chalicelib.groups import ledger
from chalicelib.stores.models import StoreRecord
from chalicelib.wecom.client import MAX_JOIN_WAY_CHATS, WeComClient
from chalicelib.wecom.errors import WeComApiError, WeComError, WeComUnavailable
from chalicelib.wecom.models import StoreJoinWay, WeComChat

STALE_CLAIM = timedelta(seconds=60)  # a registration never takes this long: its placeholder is abandoned


class UnknownChat(Conflict):
    code, default_message = "unknown_chat", "WeCom does not know this customer group (or the app cannot read it)"


class JoinWayRefused(Conflict):
    code, default_message = "wecom_refused", "WeCom refused the join way"


class JoinWayBusy(Conflict):
    code, default_message = "join_way_busy", "the store's join way is being created right now; try again"


class ChatOfAnotherStore(Conflict):
    code, default_message = "chat_of_another_store", "this customer group belongs to another store"


def _chats_to_offer(store_id: str, seeds: list[str]) -> tuple[list[str], int]:
    """The join way's chat list (not full, seeds first, at most 5) and the next room number."""
    chats = ledger.store_chats(store_id)
    top = max([int(c.seq) for c in chats if c.seq is not None] + [0])
    full = {c.chat_id for c in chats if c.status != "active" or int(c.member_count) >= ledger.CHAT_LIMIT}
    offer = [c for c in seeds if c not in full]
    offer += [c.chat_id for c in chats if c.chat_id not in full and c.chat_id not in offer]
    if not offer:  # every group is full: keep the newest so WeCom can auto-create from it
        offer = [sorted(chats, key=lambda c: int(c.seq or 0))[-1].chat_id] if chats else seeds[:1]
    return offer[:MAX_JOIN_WAY_CHATS], top + 1


def register(client: WeComClient, store: StoreRecord, seed_chat_ids: list[str], now: datetime) -> StoreJoinWay:
    try:
        for chat_id in seed_chat_ids:
            known = ledger.get_chat(chat_id)
            if known is not None and known.store_id and known.store_id != store.store_id:
                raise ChatOfAnotherStore(f"chat {chat_id} is a group of store {known.store_id}")
        seqs = {int(c.seq): c.chat_id for c in ledger.store_chats(store.store_id) if c.seq is not None}
        next_seq = max(seqs, default=0) + 1
        for chat_id in seed_chat_ids:
            known = ledger.get_chat(chat_id)
            seq = int(known.seq) if known is not None and known.seq is not None else None
            if seq is None:
                seq, next_seq = next_seq, next_seq + 1
            if ledger.sync(client, chat_id, now, store_id=store.store_id, seq=seq) is None:
                raise UnknownChat(f"WeCom has no customer group {chat_id}")
        return _ensure_join_way(client, store, seed_chat_ids, now)
    except WeComApiError as exc:
        raise JoinWayRefused(f"WeCom refused the join way (errcode {exc.errcode})",
                             [{"field": "seed_chat_ids", "problem": exc.code}]) from exc
    except WeComError as exc:
        raise WeComUnavailable.of(exc) from exc


def _claim_creation(way: StoreJoinWay, now: datetime) -> bool:
    """True if this request is the one to call `add_join_way`: no join way
    yet (put the placeholder), or a placeholder left by a registration that
    died mid-way more than `STALE_CLAIM` ago (take it over, guarded by its
    `updated_at`). False: a join way exists (or is being created right now)."""
    tx = txn.Transaction()
    tx.put("way", way, condition=StoreJoinWay.store_id.does_not_exist(), old=True)
    try:
        tx.commit()
        return True
    except txn.Refused as refused:
        existing = refused.old("way")
    if existing is None or existing.config_id or now - existing.updated_at < STALE_CLAIM:
        return False
    try:
        way.save(condition=StoreJoinWay.config_id.does_not_exist()
                 & (StoreJoinWay.updated_at == existing.updated_at))
    except PutError as exc:
        if txn.is_condition_failure(exc):
            return False
        raise
    return True


def _release_claim(store_id: str, now: datetime) -> None:
    try:
        StoreJoinWay(store_id).delete(condition=StoreJoinWay.config_id.does_not_exist()
                                      & (StoreJoinWay.updated_at == now))
    except DeleteError as exc:
        if not txn.is_condition_failure(exc):
            raise


def _ensure_join_way(client: WeComClient, store: StoreRecord, seeds: list[str], now: datetime) -> StoreJoinWay:
    state = ledger.store_token(store.store_id)
    base_name = ledger.room_base_name(store.name, state)
    chat_ids, room_id = _chats_to_offer(store.store_id, seeds)
    way = StoreJoinWay(store.store_id, state=state, seed_chat_ids=seeds, chat_ids=chat_ids,
                       room_base_name=base_name, room_base_id=room_id, updated_at=now)
    remark = f"storeloop {store.store_id}"
    if _claim_creation(way, now):
        try:
            config_id = client.add_join_way(chat_ids=chat_ids, state=state, room_base_name=base_name,
                                            room_base_id=room_id, remark=remark)
        except BaseException:
            _release_claim(store.store_id, now)  # the next registration can try again at once
            raise
    else:
        existing = ledger.join_way(store.store_id)
        if existing is None or not existing.config_id:  # another registration is creating it now
            raise JoinWayBusy()
        config_id = existing.config_id
        client.update_join_way(config_id, chat_ids=chat_ids, state=state, room_base_name=base_name,
                               room_base_id=room_id, remark=remark)
    qr_code = str(client.get_join_way(config_id).get("qr_code", ""))
    way.update(actions=[StoreJoinWay.config_id.set(config_id), StoreJoinWay.qr_code.set(qr_code),
                        StoreJoinWay.seed_chat_ids.set(seeds), StoreJoinWay.chat_ids.set(chat_ids),
                        StoreJoinWay.room_base_name.set(base_name), StoreJoinWay.room_base_id.set(room_id),
                        StoreJoinWay.state.set(state), StoreJoinWay.updated_at.set(now)])
    return way


def needs_refresh(chat: WeComChat | None) -> str | None:
    """The store whose join way should be re-checked after this chat changed:
    a listed group filled up, a new group appeared, or one was dismissed."""
    if chat is None or not chat.store_id:
        return None
    way = ledger.join_way(chat.store_id)
    if way is None or not way.config_id:
        return None
    listed = chat.chat_id in (way.chat_ids or [])
    full = int(chat.member_count) >= ledger.CHAT_LIMIT or chat.status != "active"
    return chat.store_id if (listed and full) or (not listed and not full) else None


def refresh(client: WeComClient, store_id: str, now: datetime) -> None:
    """Keep the join way on the groups that still admit members (WeCom lists
    at most 5; it appends the groups it opens), numbering new groups after the
    highest one either side knows. Concurrent refreshes compute the same list
    from WeCom's current state, so the last writer is as right as the first."""
    way = ledger.join_way(store_id)
    if way is None or not way.config_id:
        return
    remote = client.get_join_way(way.config_id)
    listed = [c for c in remote.get("chat_id_list", []) if isinstance(c, str)]
    chats = {c.chat_id: c for c in ledger.store_chats(store_id)}
    offer = [c for c in listed if c not in chats or (
        chats[c].status == "active" and int(chats[c].member_count) < ledger.CHAT_LIMIT)]
    offer += [c.chat_id for c in chats.values() if c.status == "active"
              and int(c.member_count) < ledger.CHAT_LIMIT and c.chat_id not in offer]
    if not offer:  # all full: keep the newest, WeCom opens the next group when someone scans
        offer = listed[-1:] or [max(chats.values(), key=lambda c: int(c.seq or 0)).chat_id]
    offer = offer[:MAX_JOIN_WAY_CHATS]
    top = max([int(c.seq) for c in chats.values() if c.seq is not None] + [0])
    room_id = max(int(remote.get("room_base_id") or 0), top + 1)
    if offer != listed or room_id != remote.get("room_base_id"):
        client.update_join_way(way.config_id, chat_ids=offer, state=way.state, room_base_name=way.room_base_name,
                               room_base_id=room_id, remark=f"storeloop {store_id}")
    way.update(actions=[StoreJoinWay.chat_ids.set(offer), StoreJoinWay.room_base_id.set(room_id),
                        StoreJoinWay.updated_at.set(now)])
