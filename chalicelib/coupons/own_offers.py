"""The "has store-scoped offers until" mark: one small item per store that
ever had a template scoped to it by store id (its own clearance coupons,
an HQ template naming stores), so the scheduler can skip the per-post Query
of the store's own index bucket (`store#<id>`) for the many stores that
have none live.

The mark lives in the template index table under its own key
(`bucket = own#<store_id>`, `sk = mark`; no reader of the `store#` buckets
sees it) and holds `until`: the latest claim end (`templates.index_key`)
of any template ever indexed in that store's bucket. It only moves forward
(a conditional UpdateItem: set if absent or earlier), and the template save
path writes it before the index entries (which are written before the
template), so a live store-scoped template always has a mark at or after
its claim end. The mark over-approximates (a template shortened, paused,
descoped or deleted leaves it as it was): a reader that finds a mark at or
after now reads the bucket as before and re-checks each template; only a
missing mark, or one before now, lets it skip the bucket. Stores' templates
saved before the mark existed get one from `backfill` (`python -m
chalicelib.cli backfill-lists`, docs/deploy.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import db
from chalicelib.coupons.models import TemplateIndexEntry, TemplateRecord
from chalicelib.txn import resending

MARK_PREFIX = "own#"
MARK_SK = "mark"
STORE_BUCKET = "store#"


def table_name() -> str:
    db.connection()  # binds table names first
    return str(TemplateIndexEntry.Meta.table_name)


def mark_key(store_id: str) -> dict[str, dict[str, str]]:
    return {"bucket": {"S": f"{MARK_PREFIX}{store_id}"}, "sk": {"S": MARK_SK}}


def store_of(item: dict[str, Any]) -> str:
    """The store id of a raw mark item (as BatchGetItem returns it)."""
    return str(item["bucket"]["S"])[len(MARK_PREFIX):]


def until_of(item: dict[str, Any]) -> str | None:
    value = item.get("until", {}).get("S")
    return None if value is None else str(value)


def mark(store_id: str, until: str) -> bool:
    """Move the store's mark forward to `until` (an `index_key`); False if
    it already was at or after it. Safe to repeat."""
    client = db.connection().client

    def write() -> None:
        client.update_item(TableName=table_name(), Key=mark_key(store_id), UpdateExpression="SET #u = :u",
                           ConditionExpression="attribute_not_exists(#u) OR #u < :u",
                           ExpressionAttributeNames={"#u": "until"}, ExpressionAttributeValues={":u": {"S": until}})

    try:
        resending(write)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise


def mark_buckets(buckets: list[str], until: str, dry_run: bool = False) -> int:
    """Mark every store named by a template's index buckets (`store#<id>`).
    Returns the marks moved (with `dry_run`: the stores named, nothing written)."""
    stores = [bucket[len(STORE_BUCKET):] for bucket in buckets if bucket.startswith(STORE_BUCKET)]
    return len(stores) if dry_run else sum(mark(store_id, until) for store_id in stores)


def backfill(now: datetime, dry_run: bool = False) -> int:
    """Mark the stores of every store-scoped template whose claim window has
    not ended (a one-off Scan, for templates saved before the mark existed;
    idempotent). Returns the marks moved (or that would be)."""
    from chalicelib.coupons.templates import index_key

    return sum(mark_buckets(record.index_buckets or [], index_key(record.claim_end), dry_run)
               for record in TemplateRecord.scan(TemplateRecord.claim_end > now))
