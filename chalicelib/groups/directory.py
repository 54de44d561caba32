"""Read access to a store's groups for other capabilities (posts, stats)."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor

from pynamodb.exceptions import DoesNotExist

from chalicelib.groups.models import GroupRecord


def store_groups(store_id: str) -> list[GroupRecord]:
    """All groups of a store, in `seq` order (one Query)."""
    return list(GroupRecord.query(store_id))


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
