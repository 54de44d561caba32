"""Template and store terms cached per container, guarded at write time.

A claim needs its template's terms (window, scope, limit, value, shards)
and its store's (tiers for scope, timezone and member day for the boost and
the stats day). Reading both on every claim doubled the requests of the hot
path, so they are cached here, per container, with no expiry, and every
transaction that relies on them re-checks them *inside the same
TransactWriteItems* with a ConditionCheck item:

- template  `version = v`: `TemplateRecord.version` is a VersionAttribute,
            so every save (edit, pause, resume, end) bumps it;
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
    """Every shard's remaining stock, strongly consistent (one Query), and
    remember it as the hint."""
    global reads
    _fresh()
    reads += 1
    left = {int(s.shard): int(s.remaining) for s in StockShard.query(template_id, consistent_read=True)}
    _stock.put(template_id, (time.monotonic(), left))
    return left


def took(template_id: str, shard: int) -> None:
    """A claim took one unit from `shard`: keep the hint honest-ish."""
    hint = _stock.get(template_id)
    if hint is not None and hint[1].get(shard, 0) > 0:
        hint[1][shard] -= 1
