"""A store's group chats. Groups are numbered per store (`seq` 1, 2, ...);
`group_id` is `{store_id}.{seq}`. The membership model and the join logic
belong to groups/ (issue 3); other capabilities read groups through
`groups.directory`."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model


class GroupRecord(Model):
    BASE_NAME = "groups"

    class Meta:
        table_name = "groups"

    store_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)
    group_id = UnicodeAttribute()
    capacity = NumberAttribute()
    member_count = NumberAttribute(default=0)
    chat_ref = UnicodeAttribute(null=True)  # external chat id once bound to a real WeCom chat
    webhook_url = UnicodeAttribute(null=True)  # the chat's WeCom group-robot webhook
    created_at = UTCDateTimeAttribute()


MODELS: list = [GroupRecord]
