"""Storage for the WeCom integration.

- `WeComToken`: the app's access token, shared by every Lambda container
  (WeCom rate-limits `gettoken`; docs/wecom.md). A lease (`lease_until`,
  `lease_owner`) makes concurrent callers fetch at most one token per expiry.
- `StoreJoinWay`: a store's 「加入群聊」 join way (config_id, qr_code, state)
  and the seed chats staff registered.
- `WeComChat`: the group ledger, one item per WeCom customer group, fed by
  `change_external_chat` callbacks and `groupchat/get`.
- `CallbackSeen`: callbacks already applied (WeCom redelivers), expiring.
"""

from __future__ import annotations

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


class WeComToken(Model):
    BASE_NAME = "wecom-tokens"

    class Meta:
        table_name = "wecom-tokens"

    app = UnicodeAttribute(hash_key=True)  # sha256(corp_id, secret)[:32]: never the secret itself
    access_token = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(default=0)  # epoch seconds (already minus a safety margin)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(default=0)  # epoch seconds
    fetches = NumberAttribute(default=0)  # how many times gettoken was called (ops visibility)


class ByState(GlobalSecondaryIndex["StoreJoinWay"]):
    class Meta:
        index_name = "by_state"
        projection = AllProjection()

    state = UnicodeAttribute(hash_key=True)


class StoreJoinWay(Model):
    BASE_NAME = "wecom-join-ways"

    class Meta:
        table_name = "wecom-join-ways"

    store_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()  # the store's short token (join way state, room-name tag)
    by_state = ByState()
    config_id = UnicodeAttribute(null=True)  # None while the first add_join_way is in flight
    qr_code = UnicodeAttribute(null=True)
    scene = NumberAttribute(default=2)
    seed_chat_ids: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    chat_ids: ListAttribute[str] = ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    room_base_name = UnicodeAttribute()
    room_base_id = NumberAttribute()
    updated_at = UTCDateTimeAttribute()


class ByStore(GlobalSecondaryIndex["WeComChat"]):
    class Meta:
        index_name = "by_store"
        projection = AllProjection()

    store_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)


class WeComChat(Model):
    BASE_NAME = "wecom-chats"

    class Meta:
        table_name = "wecom-chats"

    chat_id = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute(null=True)  # None: a chat we heard of but cannot place (yet)
    seq = NumberAttribute(null=True)
    by_store = ByStore()
    origin = UnicodeAttribute(default="seed")  # seed | auto
    name = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    member_count = NumberAttribute(default=0)  # everyone in the chat, as WeCom counts (its 200 limit)
    customer_count = NumberAttribute(default=0)  # external members (type 2)
    via_join_way = NumberAttribute(default=0)  # members whose `state` is the store's
    status = UnicodeAttribute(default="active")  # active | dismissed (terminal)
    synced_us = NumberAttribute(default=0)  # when the groupchat/get behind the counts started (epoch µs)
    updated_at = UTCDateTimeAttribute(null=True)


class CallbackSeen(Model):
    BASE_NAME = "wecom-callbacks"

    class Meta:
        table_name = "wecom-callbacks"

    event_id = UnicodeAttribute(hash_key=True)  # sha256 of the decrypted event
    expires = TTLAttribute()


MODELS: list = [WeComToken, StoreJoinWay, WeComChat, CallbackSeen]
