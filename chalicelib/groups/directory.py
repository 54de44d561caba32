"""Read access to a store's groups for other capabilities (posts, stats)."""

from __future__ import annotations

from chalicelib.groups.models import GroupRecord


def store_groups(store_id: str) -> list[GroupRecord]:
    """All groups of a store, in `seq` order (one Query)."""
    return list(GroupRecord.query(store_id))
