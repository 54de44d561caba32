"""Slot plans and the slot schedule index (storage).

Re-indexing only *adds*. An item left behind by an older plan or timezone
is harmless: the worker re-checks the store's current plan before posting
and deletes the stale item with a guarded delete (`rev` unchanged), so a
concurrent re-index that re-wrote it is never undone.

Every item is stamped with the store version it was filed from
(`store_version`, the store's `updated_at`) and put only over an item from
the same or an older version. Timeline this guards against (two saves of
one store, its timezone New York -> Chicago -> ...):

  save A (v1, New York) writes the store; save B (v2, Chicago) writes the store
  B files its items: bucket 1020 -> Chicago (v2)
  A files its items late: bucket 1020 -> New York (v1), over B's
  the worker: store says Chicago, the item New York -> stale, deleted:
  the Chicago noon post of bucket 1020 is never made
  with the stamp: A's put over B's v2 item fails its condition and is skipped.

A bulk re-file is TransactWriteItems of up to 100 conditional puts; the
items a newer version already holds are dropped from the transaction and
the rest sent again."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib import db, retry, txn
from chalicelib.campaigns import offers_source
from chalicelib.campaigns.models import SlotIndexRecord, SlotMap, SlotPlanRecord
from chalicelib.campaigns.slots import SlotSpec, bucket_name, effective_plan, utc_buckets
from chalicelib.stores import hours
from chalicelib.stores.models import StoreRecord


def custom_plan(store_id: str) -> list[SlotSpec] | None:
    try:
        record = SlotPlanRecord.get(store_id)
    except DoesNotExist:
        return None
    return [SlotSpec(s.slot, s.at, s.kind) for s in record.slots]


StoreAndPlan = tuple[StoreRecord | None, list[SlotSpec] | None]
_BATCH_STORES = 33  # BatchGetItem takes 100 keys: a store, its plan and its own-offers mark each


def store_and_plan(store_id: str) -> StoreAndPlan:
    """The store and its own slot plan (None = the default): what the worker
    re-checks a due slot against."""
    return stores_and_plans([store_id])[store_id]


def stores_and_plans(store_ids: list[str]) -> dict[str, StoreAndPlan]:
    """Stores and their own slot plans, one BatchGetItem over the three
    tables per 33 stores (not two GetItems per store); the third key is the
    store's own-offers mark (`offers_source.own_mark_keys`), noted on the
    store record so its post skips the Query of its own coupon bucket when
    no store-scoped template of it is live. Eventually consistent, like the
    GetItems they replace; keys the service left unprocessed are asked
    again under the request's retry budget. Every id asked is in the answer
    ((None, None) for a store that does not exist)."""
    client = db.connection().client  # binds table names first
    stores_table, plans_table = StoreRecord.Meta.table_name, SlotPlanRecord.Meta.table_name
    marks_table = offers_source.own_marks_table()
    found: dict[str, dict[str, dict[str, object]]] = {stores_table: {}, plans_table: {}}
    marks: dict[str, str | None] = {}
    unique = list(dict.fromkeys(store_ids))
    for first in range(0, len(unique), _BATCH_STORES):
        chunk = unique[first:first + _BATCH_STORES]
        keys = [{"store_id": {"S": store_id}} for store_id in chunk]
        pending: dict[str, object] = {stores_table: {"Keys": keys}, plans_table: {"Keys": keys},
                                      marks_table: {"Keys": offers_source.own_mark_keys(chunk)}}
        for _ in retry.attempts(what="the store read"):
            reply = client.batch_get_item(RequestItems=pending)
            for table, items in reply.get("Responses", {}).items():
                if table == marks_table:
                    marks.update(offers_source.own_marks(items))
                    continue
                for item in items:
                    found[table][item["store_id"]["S"]] = item
            pending = reply.get("UnprocessedKeys") or {}
            if not pending:
                break
    out: dict[str, StoreAndPlan] = {}
    for store_id in unique:
        raw_store, raw_plan = found[stores_table].get(store_id), found[plans_table].get(store_id)
        plan = None
        if raw_plan:
            plan = [SlotSpec(s.slot, s.at, s.kind) for s in SlotPlanRecord.from_raw_data(raw_plan).slots]
        store = StoreRecord.from_raw_data(raw_store) if raw_store else None
        if store is not None:
            offers_source.note_own_mark(store, marks.get(store_id))
        out[store_id] = (store, plan)
    return out


def store_plan(store: StoreRecord, custom: list[SlotSpec] | None) -> list[SlotSpec]:
    return effective_plan(custom, store.idle_hour, hours.loads(getattr(store, "hours", None)))


def save_plan(store_id: str, slots: list[SlotSpec], now: datetime) -> None:
    SlotPlanRecord(store_id, slots=[SlotMap(slot=s.slot, at=s.at, kind=s.kind) for s in slots],
                   updated_at=now).save()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def store_version(store: StoreRecord) -> int:
    """The store's version as a number (its `updated_at` in µs), exact."""
    return (store.updated_at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


def index_items(store: StoreRecord, plan: list[SlotSpec], now: datetime) -> Iterator[SlotIndexRecord]:
    rev = uuid.uuid4().hex
    version = store_version(store)
    for spec in plan:
        for minute in sorted(utc_buckets(spec.at, store.timezone, now.year)):
            yield SlotIndexRecord(bucket_name(minute), f"{store.store_id}#{spec.slot}", store_id=store.store_id,
                                  slot=spec.slot, at=spec.at, kind=spec.kind, timezone=store.timezone, rev=rev,
                                  store_version=version)


def reindex(stores: Iterable[tuple[StoreRecord, list[SlotSpec] | None]], now: datetime) -> int:
    """Write the index items of each store's current plan, each only over an
    item filed from the same or an older store version (see the module doc).
    Returns the items written (those a newer version held are not)."""
    newest: dict[tuple[str, str], SlotIndexRecord] = {}
    for store, custom in stores:
        if store.status != "open":
            continue  # a closed store posts nothing; its old items are dropped lazily by the worker
        for item in index_items(store, store_plan(store, custom), now):
            key = (item.bucket, item.key)
            held = newest.get(key)  # one store twice in a bulk: its newest version (one action per key)
            if held is None or held.store_version <= item.store_version:
                newest[key] = item
    return txn.put_each([(item, SlotIndexRecord.store_version.does_not_exist()
                              | (SlotIndexRecord.store_version <= item.store_version))
                             for item in newest.values()], what="the slot index")


def reindex_stores(stores: list[StoreRecord], now: datetime) -> int:
    """After a store upsert (one or a bulk import): plans fetched in batches."""
    plans = {p.store_id: [SlotSpec(s.slot, s.at, s.kind) for s in p.slots]
             for p in SlotPlanRecord.batch_get([s.store_id for s in stores])}
    return reindex(((s, plans.get(s.store_id)) for s in stores), now)


def bucket_items(bucket: str) -> Iterator[SlotIndexRecord]:
    return SlotIndexRecord.query(bucket)


def drop_stale(bucket: str, key: str, rev: str) -> bool:
    """Delete an index item the current plan no longer has, unless a
    re-index has rewritten it since it was read (its `rev` changed)."""
    try:
        SlotIndexRecord(bucket, key).delete(condition=SlotIndexRecord.rev == rev)
        return True
    except DeleteError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return False
