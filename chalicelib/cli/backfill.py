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

And it lists every store's groups on its group 1 (`groups/directory.py:
backfill_listing`: a Scan of the groups' keys and one of the join
pointers, a set ADD per store) for groups made before the listing, so the
fan-out reads them by key (`directory.groups_of`) instead of a Query each;
then it writes the listing marker, so a store with no group at all is
known to have none without a Query (docs/campaigns.md, "Groups by key").

Idempotent: a second run finds nothing to do. Safe beside live traffic."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

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

R = TypeVar("R", StoreRecord, TemplateRecord)


@dataclass
class Outcome:
    scanned: int = 0  # items without list keys the Scan returned
    updated: int = 0
    raced: int = 0  # keys written by someone else between our read and our update

    def line(self, what: str, lacking: str, raced_means: str, dry_run: bool) -> str:
        verb = "would update" if dry_run else "updated"
        raced = f", {self.raced} saved meanwhile ({raced_means})" if self.raced else ""
        return f"{what}: {self.scanned} {lacking}, {verb} {self.updated}{raced}"


def _update_unless_raced(model_cls: type[StoreRecord] | type[TemplateRecord], key: str, actions: list[Any],
                         condition: Any) -> bool:
    """One UpdateItem under `condition` (what was read still holds): True if
    it wrote, False if a write in between won. Through the connection, not
    `Model.update`, so a versioned item's `version` is left alone."""
    try:
        model_cls._get_connection().update_item(key, actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise


def fill_store(record: StoreRecord, dry_run: bool = False) -> bool:
    """True if this call filed the store; False if it already was (or changed meanwhile)."""
    return dry_run or _update_unless_raced(
        StoreRecord, record.store_id,
        [StoreRecord.list_key.set(STORE_LIST_KEY), StoreRecord.city_key.set(f"{record.city}#{record.store_id}")],
        StoreRecord.list_key.does_not_exist() & (StoreRecord.city == record.city))


def fill_template(record: TemplateRecord, dry_run: bool = False) -> bool:
    if dry_run:
        return True
    created = index_key(record.created_at) if record.created_at else "0000-00-00T00:00:00Z"
    return _update_unless_raced(
        TemplateRecord, record.template_id,
        [TemplateRecord.list_key.set(TEMPLATE_LIST_KEY),
         TemplateRecord.created_key.set(f"{created}#{record.template_id}"),
         TemplateRecord.status.set(TemplateRecord.status | "active")],
        TemplateRecord.list_key.does_not_exist() & TemplateRecord.template_id.exists())


def fill_band(record: StoreRecord, dry_run: bool = False) -> bool:
    """True if this call gave the store its band; False if it had one by then (or moved)."""
    return dry_run or _update_unless_raced(
        StoreRecord, record.store_id, [StoreRecord.band.set(bands.band(float(record.lat), bands.HEIGHT_DEG))],
        StoreRecord.band.does_not_exist() & (StoreRecord.lat == record.lat))


def _run(records: Iterable[R], fill: Callable[[R, bool], bool], dry_run: bool) -> Outcome:
    out = Outcome()
    for record in records:
        out.scanned += 1
        if fill(record, dry_run):
            out.updated += 1
        else:
            out.raced += 1
    return out


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="count what would be updated, write nothing")


def backfill_bands(dry_run: bool = False) -> Outcome:
    return _run(StoreRecord.scan(StoreRecord.band.does_not_exist()), fill_band, dry_run)


@command("backfill-bands", _args, help="give stores saved before the nearby band index their band "
                                   "(idempotent; run once after deploying the index)")
def backfill_bands_command(args: argparse.Namespace) -> int:
    db.ensure_bound()
    print(backfill_bands(args.dry_run).line("stores", "without a band", "already banded", args.dry_run))
    return 0


def backfill_stores(dry_run: bool = False) -> Outcome:
    return _run(StoreRecord.scan(StoreRecord.list_key.does_not_exist()), fill_store, dry_run)


def backfill_templates(dry_run: bool = False) -> Outcome:
    return _run(TemplateRecord.scan(TemplateRecord.list_key.does_not_exist()), fill_template, dry_run)


@command("backfill-lists", _args, help="file stores and templates saved before the list indexes into them "
                                       "(idempotent; run once after deploying the indexes)")
def backfill_lists(args: argparse.Namespace) -> int:
    db.ensure_bound()
    for what, run in (("stores", backfill_stores), ("coupon templates", backfill_templates)):
        print(run(args.dry_run).line(what, "without list keys", "already filed", args.dry_run))
    from chalicelib.clock import get_clock
    from chalicelib.coupons import own_offers

    marked = own_offers.backfill(get_clock().now(), args.dry_run)  # live store-scoped templates' own-offers marks
    print(f"own-offer marks: {'would move' if args.dry_run else 'moved'} {marked}")
    from chalicelib.groups.directory import backfill_listing

    seen, listed = backfill_listing(args.dry_run)  # group 1 lists the store's other groups (groups_of)
    print(f"group listings: {seen} stores with groups, {'would list' if args.dry_run else 'listed'} {listed}")
    print(f"group listing marker: {'would be written' if args.dry_run else 'written'} "
          "(a store with no group is then read by key, not queried)")
    return 0
