"""A store's group chats. Groups are numbered per store (`seq` 1, 2, ...);
`group_id` is `{store_id}.{seq}`. The membership model and the join logic
belong to groups/ (issue 3); other capabilities read groups through
`groups.directory`.

Three items take part in every join (see docs/groups.md):
- `GroupMembership` (one per member): where the member is. Its condition
  stops one member landing in two groups.
- `GroupRecord` (one per group): `member_count < capacity` is its condition.
- `StoreGroups` (one per store): the "live QR code": which group new members
  go to (`current_seq`), advanced only when that group is full, plus the
  store's total member count.

Group 1 also lists the store's other groups (`listed`, `others`), so a
batch of stores reads its groups by key (`directory.groups_of`): see
`GroupRecord.listed`.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, NumberSetAttribute, UnicodeAttribute, UTCDateTimeAttribute
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
    # On group 1 only. `listed` = 1: `others` holds the seq of every other
    # group of the store (and maybe seqs never created: a reader skips
    # keys that are not there). Written with what creates a group: the
    # store's first join, which creates group 1 (when no group is linked
    # outside the pointer: `StoreGroups.linked`), the pointer's advance to
    # N+1 (in its transaction), a WeCom chat linked at another seq (before
    # it creates the group), and `cli backfill-lists` for groups made before.
    listed = NumberAttribute(null=True)
    others = NumberSetAttribute(null=True)


class StoreGroups(Model):
    """Per store: the group joins go to now, and the store's member count."""

    BASE_NAME = "store-groups"

    class Meta:
        table_name = "store-groups"

    store_id = UnicodeAttribute(hash_key=True)
    current_seq = NumberAttribute(null=True)  # absent until the first join (then joins start at 1)
    member_count = NumberAttribute(default=0)
    # seqs of groups a WeCom chat link created besides group 1, written
    # before the group: a join creating group 1 lists them (`GroupRecord.listed`)
    linked = NumberSetAttribute(null=True)


class GroupMembership(Model):
    """Per member: the one group they are in (the source of truth; the
    member profile's `home_store_id` / `group_id` are written in the same
    transaction for reading)."""

    BASE_NAME = "group-memberships"

    class Meta:
        table_name = "group-memberships"

    member_id = UnicodeAttribute(hash_key=True)
    store_id = UnicodeAttribute()
    seq = NumberAttribute()
    group_id = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute()


MODELS: list = [GroupRecord, StoreGroups, GroupMembership]
