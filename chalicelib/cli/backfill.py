"""One-off migrations after deploying a new index onto older data.

`python -m chalicelib.cli backfill-bands`: give stores saved before the
`stores.by_band` index (nearby) their `band`: a Scan for stores without one,
then per store an UpdateItem `band = band(lat)` only if `band` is still
absent and `lat` is still the one read (a config upsert in between writes
its own band and wins). Without it such a store is invisible to nearby
until it is saved again. Idempotent; safe beside live traffic.

`python -m chalicelib.cli backfill-lists`: file stores and coupon
templates written before the list indexes existed into them.

`GET /stores` reads GSI `stores.by_listing` (hash `list_key`, range
`city_key`) and `GET /coupon-templates` reads GSI
`coupon-templates.by_created` (hash `list_key`, range `created_key`). A GSI
only holds items that have its key attributes, so an item saved before
those attributes were written is in neither list until it is saved again.
This command pages through each table once (a Scan with a filter on the
missing `list_key`, a one-off ops job, never a request path) and sets the
keys on each such item with a conditional UpdateItem:

- stores: `list_key = "store"`, `city_key = city#store_id`, only if
  `list_key` is still absent and `city` is still the one read (a config
  upsert in between writes the keys itself and wins);
- templates: `list_key = "template"`, `created_key = created_at#id`, and
  `status = "active"` where it is absent (absent already meant active),
  only if `list_key` is still absent. The template's `version` is left
  alone: list keys are not terms, so no ETag goes stale and no cached terms
  are evicted.

Then it gives every store named by a live store-scoped template its
own-offers mark (`coupons/own_offers.backfill`: a Scan of the templates
whose claim window has not ended; the scheduler skips a store's own coupon
bucket without one).

Idempotent: a second run finds nothing to do. Safe beside live traffic."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from chalicelib import db
from chalicelib.cli import command
from chalicelib.coupons.models import TemplateRecord
from chalicelib.coupons.templates import LIST_KEY as TEMPLATE_LIST_KEY
from chalicelib.coupons.templates import index_key
from chalicelib.geo import bands
from chalicelib.stores.models import LIST_KEY as STORE_LIST_KEY
from chalicelib.stores.models import StoreRecord
from chalicelib.txn import is_condition_failure


@dataclass
class Outcome:
    scanned: int = 0  # items without list keys the Scan returned
    updated: int = 0
    raced: int = 0  # keys written by someone else between our read and our update


def fill_store(record: StoreRecord, dry_run: bool = False) -> bool:
    """True if this call filed the store; False if it already was (or changed meanwhile)."""
    if dry_run:
        return True
    try:
        StoreRecord._get_connection().update_item(
            record.store_id,
            actions=[StoreRecord.list_key.set(STORE_LIST_KEY),
                     StoreRecord.city_key.set(f"{record.city}#{record.store_id}")],
            condition=StoreRecord.list_key.does_not_exist() & (StoreRecord.city == record.city))
        return True
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise


def fill_template(record: TemplateRecord, dry_run: bool = False) -> bool:
    if dry_run:
        return True
    created = index_key(record.created_at) if record.created_at else "0000-00-00T00:00:00Z"
    try:
        TemplateRecord._get_connection().update_item(
            record.template_id,
            actions=[TemplateRecord.list_key.set(TEMPLATE_LIST_KEY),
                     TemplateRecord.created_key.set(f"{created}#{record.template_id}"),
                     TemplateRecord.status.set(TemplateRecord.status | "active")],
            condition=TemplateRecord.list_key.does_not_exist() & TemplateRecord.template_id.exists())
        return True
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="count what would be updated, write nothing")


def fill_band(record: StoreRecord, dry_run: bool = False) -> bool:
    """True if this call gave the store its band; False if it had one by then (or moved)."""
    if dry_run:
        return True
    try:
        StoreRecord._get_connection().update_item(
            record.store_id, actions=[StoreRecord.band.set(bands.band(float(record.lat), bands.HEIGHT_DEG))],
            condition=StoreRecord.band.does_not_exist() & (StoreRecord.lat == record.lat))
        return True
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise


def backfill_bands(dry_run: bool = False) -> Outcome:
    out = Outcome()
    for record in StoreRecord.scan(StoreRecord.band.does_not_exist()):
        out.scanned += 1
        if fill_band(record, dry_run):
            out.updated += 1
        else:
            out.raced += 1
    return out


@command("backfill-bands", _args, help="give stores saved before the nearby band index their band "
                                   "(idempotent; run once after deploying the index)")
def backfill_bands_command(args: argparse.Namespace) -> int:
    db.ensure_bound()
    out = backfill_bands(args.dry_run)
    verb = "would update" if args.dry_run else "updated"
    print(f"stores: {out.scanned} without a band, {verb} {out.updated}"
          f"{f', {out.raced} saved meanwhile (already banded)' if out.raced else ''}")
    return 0


def _run(records: Iterable[StoreRecord | TemplateRecord], dry_run: bool) -> Outcome:
    out = Outcome()
    for record in records:
        out.scanned += 1
        filed = fill_store(record, dry_run) if isinstance(record, StoreRecord) else fill_template(record, dry_run)
        if filed:
            out.updated += 1
        else:
            out.raced += 1
    return out


def backfill_stores(dry_run: bool = False) -> Outcome:
    return _run(StoreRecord.scan(StoreRecord.list_key.does_not_exist()), dry_run)


def backfill_templates(dry_run: bool = False) -> Outcome:
    return _run(TemplateRecord.scan(TemplateRecord.list_key.does_not_exist()), dry_run)


@command("backfill-lists", _args, help="file stores and templates saved before the list indexes into them "
                                       "(idempotent; run once after deploying the indexes)")
def backfill_lists(args: argparse.Namespace) -> int:
    db.ensure_bound()
    for what, run in (("stores", backfill_stores), ("coupon templates", backfill_templates)):
        out = run(args.dry_run)
        verb = "would update" if args.dry_run else "updated"
        print(f"{what}: {out.scanned} without list keys, {verb} {out.updated}"
              f"{f', {out.raced} saved meanwhile (already filed)' if out.raced else ''}")
    from chalicelib.clock import get_clock
    from chalicelib.coupons import own_offers

    marked = own_offers.backfill(get_clock().now(), args.dry_run)  # live store-scoped templates' own-offers marks
    print(f"own-offer marks: {'would move' if args.dry_run else 'moved'} {marked}")
    return 0
