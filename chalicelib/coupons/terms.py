"""Template and store terms cached per container, guarded at write time.

A claim needs its template's terms (window, scope, limit, value, shards)
and its store's (tiers for scope, timezone and member day for the boost and
the stats day). Reading both on every claim doubled the requests of the hot
path, so they are cached here, per container, with no expiry, and every
transaction that relies on them re-checks them *inside the same
TransactWriteItems* with a ConditionCheck item:

- template  `version = v`: `TemplateRecord.version` is a VersionAttribute,
            so every save (edit, pause, resume, end) bumps it. For a
            template with stock the check is NOT on the template item: every
            stock shard carries `tpl_version` and `tpl_status`, rewritten in
            the same transaction as every template save
            (`templates.save_transaction`), and the claim's decrement of its
            shard conditions `remaining > 0 AND tpl_version = v AND
            tpl_status = active` (`shard_guard`): the guard rides on the one
            item the claim writes anyway, so at a flash sale the template
            item is off the hot path (each shard takes ~500 claims/s; the
            template item would have taken every claim). Unlimited templates
            (no shard) and templates saved before shards carried the version
            (`shard_guard` unset) keep a ConditionCheck on the template item;
- store     the very values the claim used (`traffic_tier`, `spend_tier`,
            `timezone`, `member_day`): a config upsert that changes any of
            them fails the check; one that changes only other fields (name,
            hours, radius) does not evict anything.

A failed guard writes nothing; the caller forgets the entry, re-reads it
(strongly consistent) and tries again. So a stale cache can cost one
cancelled transaction and one read, never a claim on old terms. Timeline:

  container A caches template T v3 (limit 2)
  admin edits T: v3 -> v4 (limit 1)
  A: claim with check `version = 3` -> cancelled (ConditionalCheckFailed on
     "template"), nothing written; A re-reads T v4, claims under limit 1.

The same with the guard on the shard (T has stock):

  container A caches T v3 (active); shards 0..n carry tpl_version 3
  admin pauses T: ONE transaction: T v3 -> v4 paused, every shard -> 4 paused
  A: claim decrements shard k `if remaining > 0 AND tpl_version = 3 ...`
     -> cancelled; the shard as it stood comes back (ALL_OLD): tpl_version 4,
     so A forgets T, re-reads it (v4, paused) and answers 409 template_paused.
     Had the shard said tpl_version 3 and remaining 0, it was stock: A reads
     the shards instead.

Stock is cached too, as a hint: the last strongly consistent read of a
template's shards. Stock only ever goes down, so a shard seen empty stays
empty (a hint can only over-estimate, and a wrong guess is one cancelled
decrement); all shards seen empty is a proof of "sold out" that costs no
request. Sold-out hints are kept `SOLD_OUT_TTL_S` at most.

Entries are per deployment settings (tests switch table prefixes), and the
caches are bounded (least recently used go first)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from pynamodb.exceptions import DoesNotExist

from chalicelib.coupons.models import StockShard, TemplateRecord
from chalicelib.errors import NotFound
from chalicelib.settings import Settings, get_settings
from chalicelib.stores.models import StoreRecord
from chalicelib.txn import Transaction

MAX_TEMPLATES = 2048
MAX_STORES = 20000
SOLD_OUT_TTL_S = 60.0

V = TypeVar("V")


class _Lru(Generic[V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_templates: _Lru[TemplateRecord] = _Lru(MAX_TEMPLATES)
_stores: _Lru[StoreRecord] = _Lru(MAX_STORES)
_stock: _Lru[tuple[float, dict[int, int]]] = _Lru(MAX_TEMPLATES)
_for: Settings | None = None
reads = 0  # strongly consistent reads made to fill the caches (the bench prints it)


def _fresh() -> None:
    global _for
    settings = get_settings()
    if settings is not _for:
        clear()
        _for = settings


def clear() -> None:
    _templates.clear()
    _stores.clear()
    _stock.clear()


def template(template_id: str) -> TemplateRecord:
    record: TemplateRecord = _cached(_templates, TemplateRecord, template_id, "coupon template")
    return record


def store(store_id: str) -> StoreRecord:
    record: StoreRecord = _cached(_stores, StoreRecord, store_id, "store")
    return record


def _cached(cache: Any, model: Any, key: str, what: str) -> Any:
    """From this container's cache, else one consistent read (then cached)."""
    global reads
    _fresh()
    record = cache.get(key)
    if record is None:
        reads += 1
        try:
            record = model.get(key, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFound(f"{what} {key} not found") from exc
        cache.put(key, record)
    return record


def forget_template(template_id: str) -> None:
    _templates.pop(template_id)
    _stock.pop(template_id)


def forget_store(store_id: str) -> None:
    _stores.pop(store_id)


def guard_template(tx: Transaction, record: TemplateRecord, label: str = "template") -> None:
    """The template is still the version these terms came from."""
    tx.check(label, TemplateRecord, record.template_id, condition=TemplateRecord.version == record.version)


def guards_on_shard(record: TemplateRecord) -> bool:
    """The claim's version guard rides on the stock shard it decrements."""
    return record.total_stock is not None and bool(record.shard_guard)


def shard_guard(record: TemplateRecord) -> Any:
    """The condition on the claim's stock decrement: stock left, and the
    shard still carries the template version (and status) these terms are."""
    return ((StockShard.remaining > 0) & (StockShard.tpl_version == record.version)
            & (StockShard.tpl_status == "active"))


def stale_on_shard(record: TemplateRecord, shard: StockShard | None) -> bool:
    """A refused decrement: was it the template moving on (True) or the
    shard being empty (False)? From the shard as it stood (ALL_OLD; no item
    back = no such shard: a stock question, which the shard read answers)."""
    return shard is not None and (shard.tpl_version != record.version or shard.tpl_status != "active")


def shard_behind(record: TemplateRecord, shard: StockShard | None) -> bool:
    """The shard carries an OLDER version than these terms: every save
    stamps template and shards together, so the template was written some
    other way (`templates.resync_shards` repairs it)."""
    return shard is not None and (shard.tpl_version is None or int(shard.tpl_version) < int(record.version))


def guard_store(tx: Transaction, record: StoreRecord, label: str = "store") -> None:
    """The store still has the terms a coupon depends on (scope tiers,
    timezone, member day)."""
    condition: Any = ((StoreRecord.traffic_tier == record.traffic_tier)
                      & (StoreRecord.spend_tier == record.spend_tier)
                      & (StoreRecord.timezone == record.timezone))
    if record.member_day is None:
        condition &= StoreRecord.member_day.does_not_exist()
    else:
        condition &= StoreRecord.member_day == record.member_day
    tx.check(label, StoreRecord, record.store_id, condition=condition)


def stock_hint(template_id: str) -> dict[int, int] | None:
    """Shard -> remaining as last read (over-estimates only), or None."""
    _fresh()
    hint = _stock.get(template_id)
    if hint is None:
        return None
    read_at, left = hint
    if not any(left.values()) and time.monotonic() - read_at > SOLD_OUT_TTL_S:
        _stock.pop(template_id)
        return None
    return left


def read_stock(template_id: str) -> dict[int, int]:
    """Every shard's remaining stock, strongly consistent (one request:
    `templates.shard_stock`), and remember it as the hint."""
    global reads
    from chalicelib.coupons.templates import shard_stock  # lazily: redemptions use terms, not templates

    _fresh()
    left = shard_stock(template(template_id))
    reads += 1
    _stock.put(template_id, (time.monotonic(), left))
    return left


def took(template_id: str, shard: int) -> None:
    """A claim took one unit from `shard`: keep the hint honest-ish."""
    hint = _stock.get(template_id)
    if hint is not None and hint[1].get(shard, 0) > 0:
        hint[1][shard] -= 1
