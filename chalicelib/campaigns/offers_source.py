"""The one seam between campaigns and coupons. Post content and clearance
go through these two functions, so the coupons capability can change its
internals (or names) without touching the tick, the worker or the tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.settings import Settings, get_settings
from chalicelib.stores.models import StoreRecord

if TYPE_CHECKING:
    from chalicelib.coupons.models import TemplateRecord
    from chalicelib.coupons.schemas import Offers

# How long one tick's catalogue snapshot may be reused (real seconds, per
# container). A post is a snapshot of the offers anyway; a template created,
# paused or sold out within this long of the snapshot shows up (or goes) in
# the next tick's posts. A claim always re-checks the live template itself.
SNAPSHOT_TTL_S = 60.0
_STORE_BUCKET = "store#"  # coupons/rules.store_buckets: the one bucket that is this store's own


@dataclass(frozen=True)
class Offer:
    template_id: str
    title: str
    kind: str
    value: int
    min_spend_fen: int = 0
    remaining: int | None = None
    claim_end: str | None = None
    boosted: bool = False


@dataclass(frozen=True)
class OfferSet:
    offers: list[Offer]
    member_day: bool


@dataclass
class _Catalogue:
    """One tick's view of the chain-wide part of the coupon catalogue: the
    shared scope buckets ("all", traffic/spend tiers), the template records
    they name and the stock of the limited ones, each read once per tick
    (per container) instead of once per post. A store's own bucket (its
    clearance coupons) and its own templates are read per post, fresh, and
    only when the store's own-offers mark (read with the store) says one of
    them may be live (coupons/own_offers.py)."""

    key: str
    settings: Settings
    born: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    buckets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # bucket -> [(sk, template_id)]
    templates: dict[str, TemplateRecord | None] = field(default_factory=dict)
    stock: dict[str, int | None] = field(default_factory=dict)

    def live_ids(self, bucket: str, after: str) -> list[str]:
        from chalicelib.coupons.models import TemplateIndexEntry

        with self.lock:
            entries = self.buckets.get(bucket)
            if entries is None:
                query = TemplateIndexEntry.query(bucket, TemplateIndexEntry.sk > after)
                entries = [(e.sk, e.template_id) for e in query]
                self.buckets[bucket] = entries
        return [template_id for sk, template_id in entries if sk > after]

    def records(self, ids: set[str]) -> list[TemplateRecord]:
        from chalicelib.coupons.models import TemplateRecord

        with self.lock:
            missing = [i for i in sorted(ids) if i not in self.templates]
            if missing:
                found = {r.template_id: r for r in TemplateRecord.batch_get(missing)}
                for template_id in missing:
                    self.templates[template_id] = found.get(template_id)
            return [r for r in (self.templates[i] for i in ids) if r is not None]

    def left_of(self, record: TemplateRecord) -> int | None:
        from chalicelib.coupons.templates import remaining

        if record.total_stock is None:
            return None
        with self.lock:
            if record.template_id not in self.stock:
                self.stock[record.template_id] = remaining(record)
            return self.stock[record.template_id]


_snapshot: ContextVar[str | None] = ContextVar("offers_snapshot", default=None)
_catalogues: dict[str, _Catalogue] = {}
_catalogues_lock = threading.Lock()


@contextmanager
def tick_snapshot(key: str) -> Iterator[None]:
    """Within this block, `store_offers` reads the chain-wide catalogue once
    per `key` (the tick's instant: every store of one tick shares it) and
    reuses it for at most SNAPSHOT_TTL_S."""
    token = _snapshot.set(key)
    try:
        yield
    finally:
        _snapshot.reset(token)


def _catalogue() -> _Catalogue | None:
    key = _snapshot.get()
    if key is None:
        return None
    settings = get_settings()
    with _catalogues_lock:
        found = _catalogues.get(key)
        if found is None or found.settings is not settings or time.monotonic() - found.born > SNAPSHOT_TTL_S:
            found = _Catalogue(key, settings)
            for old in [k for k, c in _catalogues.items() if time.monotonic() - c.born > SNAPSHOT_TTL_S]:
                del _catalogues[old]
            if len(_catalogues) >= 4:
                _catalogues.pop(next(iter(_catalogues)))
            _catalogues[key] = found
        return found


def store_offers(store: StoreRecord, now: datetime) -> OfferSet:
    """What GET /stores/{id}/offers would show at `now` (boosted on member
    day); inside `tick_snapshot`, with the chain-wide part read once per tick."""
    from chalicelib.coupons import service

    catalogue = _catalogue()
    view = service.store_offers(store, now) if catalogue is None else _from_catalogue(catalogue, store, now)
    offers = [Offer(template_id=o.template_id, title=o.title, kind=o.kind, value=int(o.value),
                    min_spend_fen=int(o.min_spend_fen or 0), remaining=o.remaining,
                    claim_end=o.claim_end.isoformat() if isinstance(o.claim_end, datetime) else o.claim_end,
                    boosted=bool(o.boosted)) for o in view.offers]
    return OfferSet(offers, bool(view.member_day))


def create_clearance(store: StoreRecord, template_id: str, title: str, value_fen: int, stock: int,
                     claim_start: datetime, claim_end: datetime, now: datetime) -> str:
    """A clearance coupon template scoped to this one store, stock = units
    on hand. Idempotent by `template_id` (a re-driven clearance run reuses it)."""
    from chalicelib.coupons import service

    return service.create_clearance_template(
        template_id=template_id, store_id=store.store_id, title=title, value_fen=value_fen, stock=stock,
        claim_start=claim_start, claim_end=claim_end, now=now)


# The store's own-offers mark as read with the store (`schedule.stores_and_plans`),
# kept on the record instance: a str (the latest claim end of its store-scoped
# templates), None (no mark: it never had one), or absent (not read: query the bucket).
_OWN_MARK = "_storeloop_own_offers_until"


def own_marks_table() -> str:
    from chalicelib.coupons import own_offers

    return own_offers.table_name()


def own_mark_keys(store_ids: list[str]) -> list[dict[str, dict[str, str]]]:
    """The BatchGetItem keys of these stores' own-offers marks (coupons/own_offers.py)."""
    from chalicelib.coupons import own_offers

    return [own_offers.mark_key(store_id) for store_id in store_ids]


def own_marks(items: list[dict[str, Any]]) -> dict[str, str | None]:
    """Store id -> mark, from the raw mark items a BatchGetItem returned."""
    from chalicelib.coupons import own_offers

    return {own_offers.store_of(item): own_offers.until_of(item) for item in items}


def note_own_mark(store: StoreRecord, until: str | None) -> None:
    """Read with `store` in the same request: `store_offers` then skips its
    own bucket unless a store-scoped template of it may still be live."""
    setattr(store, _OWN_MARK, until)


def _own_bucket_may_hold(store: StoreRecord, after: str) -> bool:
    """False only when the mark read with the store says no store-scoped
    template of it ends after `after` (`sk > after` would find nothing)."""
    if not hasattr(store, _OWN_MARK):
        return True  # read without its mark (e.g. a single GetItem): query as before
    until = getattr(store, _OWN_MARK)
    return until is not None and until >= after


def _from_catalogue(catalogue: _Catalogue, store: StoreRecord, now: datetime) -> Offers:
    from chalicelib.coupons import rules
    from chalicelib.coupons.models import TemplateIndexEntry, TemplateRecord
    from chalicelib.coupons.offers import offers_from
    from chalicelib.coupons.templates import index_key

    after = index_key(now)
    shared: set[str] = set()
    own: set[str] = set()
    for bucket in rules.store_buckets(store.store_id, store.traffic_tier, store.spend_tier):
        if bucket.startswith(_STORE_BUCKET):
            if not _own_bucket_may_hold(store, after):
                continue  # no store-scoped template of this store is live: nothing to query
            own.update(e.template_id for e in TemplateIndexEntry.query(bucket, TemplateIndexEntry.sk > after))
        else:
            shared.update(catalogue.live_ids(bucket, after))
    records = catalogue.records(shared - own)
    if own:
        records += list(TemplateRecord.batch_get(sorted(own)))
    return offers_from(store, records, now, catalogue.left_of)
