"""Group use cases: join (by location or store), admin edits, listings."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.errors import NotFound
from chalicelib.geo.coords import Coord, to_wgs84
from chalicelib.groups import join as joiner
from chalicelib.groups import ledger
from chalicelib.groups.directory import get_group, store_groups
from chalicelib.groups.errors import NoStoreNearby
from chalicelib.groups.ids import group_id, parse_group_id
from chalicelib.groups.models import GroupRecord, StoreGroups
from chalicelib.groups.schemas import Group, GroupPatch, JoinOut, StoreGroupsOut
from chalicelib.settings import get_settings
from chalicelib.stores import nearby
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.service import get_store
from chalicelib.wecom.schemas import Alert, ChatView, Join, StoreWeComOut


def nearest_store(lat: float, lng: float, coord: Coord) -> StoreRecord:
    hits = nearby.find(*to_wgs84(lat, lng, coord), limit=1).hits
    if not hits:
        raise NoStoreNearby()
    return hits[0].record


def join_store(member_id: str, store: StoreRecord, now: datetime) -> JoinOut:
    placement = joiner.join(member_id, store, now)
    # a consistent read after the commit: the count includes this member (and
    # anyone who joined since), the capacity is the group's own
    group = get_group(placement.store_id, placement.seq)
    if group is None:  # cannot happen: the membership and the group commit together
        raise NotFound(f"group {placement.group_id} not found")
    return JoinOut(group_id=group.group_id, store_id=group.store_id, seq=int(group.seq),
                   member_count=int(group.member_count), capacity=int(group.capacity), chat_ref=group.chat_ref,
                   join=join_of(group.store_id))


def join_of(store_id: str) -> Join | None:
    """The store's join way, for the mini-program (None when WeCom is off or
    staff have not registered the store's seed groups yet)."""
    if get_settings().wecom == "off":
        return None
    way = ledger.join_way(store_id)
    if way is None or not way.config_id or not way.qr_code:
        return None
    expected = ledger.expected_chat(store_id)
    seq = int(expected.seq) if expected is not None and expected.seq is not None else None
    return Join(config_id=way.config_id, qr_code=way.qr_code, state=way.state,
                expected_chat_id=expected.chat_id if expected else None,
                expected_group_id=group_id(store_id, seq) if seq is not None else None)


def join_nearest(member_id: str, lat: float, lng: float, coord: Coord, now: datetime) -> JoinOut:
    return join_store(member_id, nearest_store(lat, lng, coord), now)


def join_by_id(member_id: str, store_id: str, now: datetime) -> JoinOut:
    return join_store(member_id, get_store(store_id), now)


def to_view(record: GroupRecord) -> Group:
    return Group(group_id=record.group_id, store_id=record.store_id, seq=int(record.seq),
                 member_count=int(record.member_count or 0), capacity=int(record.capacity),
                 chat_ref=record.chat_ref, webhook_set=bool(record.webhook_url), created_at=record.created_at)


def update_group(group_id: str, patch: GroupPatch) -> Group:
    parsed = parse_group_id(group_id)
    if parsed is None:
        raise NotFound(f"group {group_id} not found")
    actions = []
    for name in ("chat_ref", "webhook_url"):
        if name in patch.model_fields_set:
            attr, value = getattr(GroupRecord, name), getattr(patch, name)
            actions.append(attr.set(value) if value is not None else attr.remove())
    record = GroupRecord(*parsed)
    try:
        # exists-condition: an edit never creates a half-made group
        record.update(actions=actions, condition=GroupRecord.store_id.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound(f"group {group_id} not found") from exc
        raise
    return to_view(record)


def list_groups(store_id: str) -> StoreGroupsOut:
    get_store(store_id)  # 404 for an unknown store
    try:
        state = StoreGroups.get(store_id, consistent_read=True)
        member_count = int(state.member_count or 0)
        seq = int(state.current_seq) if state.current_seq is not None else None
    except DoesNotExist:
        member_count, seq = 0, None
    return StoreGroupsOut(store_id=store_id, member_count=member_count, current_seq=seq,
                          groups=[to_view(g) for g in store_groups(store_id)])


def wecom_view(store_id: str) -> StoreWeComOut:
    way = ledger.join_way(store_id)
    robots = {int(g.seq): bool(g.webhook_url) for g in store_groups(store_id)}
    chats, alerts = [], []
    for chat in ledger.store_chats(store_id):
        seq = int(chat.seq) if chat.seq is not None else None
        gid = group_id(store_id, seq) if seq is not None else None
        has_robot = robots.get(seq, False) if seq is not None else False
        chats.append(ChatView(chat_id=chat.chat_id, group_id=gid, seq=seq, name=chat.name, origin=chat.origin,
                              status=chat.status, member_count=int(chat.member_count),
                              customer_count=int(chat.customer_count), via_join_way=int(chat.via_join_way),
                              has_robot=has_robot, updated_at=chat.updated_at))
        if chat.status == "active" and not has_robot:
            alerts.append(Alert(chat_id=chat.chat_id, group_id=gid, code="no_robot", message=(
                f"「{chat.name}」 has no group robot, so posts cannot reach it directly. In WeCom, open the group, "
                f"add a group robot, copy its webhook URL and save it with PUT /groups/{gid} (webhook_url).")))
    active = [c for c in chats if c.status == "active"]
    try:
        members = int(StoreGroups.get(store_id, consistent_read=True).member_count or 0)
    except DoesNotExist:
        members = 0
    return StoreWeComOut(store_id=store_id, state=way.state if way else None,
                         storeloop_member_count=members,
                         wecom_customer_count=sum(c.customer_count for c in active),
                         wecom_via_join_way=sum(c.via_join_way for c in active),
                         config_id=way.config_id if way else None, qr_code=way.qr_code if way else None,
                         seed_chat_ids=list(way.seed_chat_ids or []) if way else [],
                         join_way_chat_ids=list(way.chat_ids or []) if way else [], chats=chats, alerts=alerts)
