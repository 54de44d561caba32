"""Read access to a store's groups for other capabilities (posts, stats)."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.groups.models import GroupRecord


def store_groups(store_id: str) -> list[GroupRecord]:
    """All groups of a store, in `seq` order (one Query)."""
    return list(GroupRecord.query(store_id))


def get_group(store_id: str, seq: int) -> GroupRecord | None:
    """One group, read consistently (it reflects every committed join)."""
    try:
        return GroupRecord.get(store_id, seq, consistent_read=True)
    except DoesNotExist:
        return None
