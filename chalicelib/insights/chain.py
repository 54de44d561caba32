"""The chain-wide state of the hourly insights refresh (storage + pure helpers).

The refresh runs every hour at :05 UTC; each run handles the stores whose
local day has started since they were last refreshed (00:05 local in
whole-hour timezones). Two things are chain-wide:

- **the bands of the day** (`bands#<day>`): the chain's sorted traffic and
  spend figures (stores with enough data), which every store's tiers are
  measured against, and the stores grouped by timezone. Computing them reads
  every store's week items, so it happens once per *chain day* (the local
  day in `CHAIN_TZ`, where the chain's head office and most stores are): the
  first run of that day finds no item, does the full pass and writes it in
  one PutItem; every later run of the day reads this one item. Two runs
  racing write equivalent complete items (last writer wins, never a mix).
- **zone stamps** (`zone#<tz>`): the last local day every store of a
  timezone was refreshed for, raised with a guarded update (only upwards)
  once the zone's stores of that day have been tried. A run reads the
  stamps (one BatchGet) and touches only zones whose local day has moved
  past their stamp; the per-store stamp (`StorePolicy.refreshed_day`) is
  the guard against doing a store twice. A store that failed is listed on
  its zone's stamp (`retry`) and retried alone by the following runs, so
  one bad store never makes every run re-read its whole zone.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.clock import local_time
from chalicelib.insights.models import InsightsChain
from chalicelib.txn import is_condition_failure

CHAIN_TZ = "Asia/Shanghai"  # whose local day the bands follow
# a store's day is due from 00:01 local: the :05 run handles it with a margin
# for a trigger that fires a little early
AFTER_MIDNIGHT = timedelta(minutes=1)
KEEP_BANDS = timedelta(days=7)
MAX_BLOB = 350_000  # bytes; DynamoDB's item limit is 400 KB


def local_day(now: datetime, tz: str) -> str:
    """The local day a refresh at `now` is for in `tz`: the date of
    `now - 1 min` (00:00:59 local still belongs to yesterday)."""
    return local_time(now - AFTER_MIDNIGHT, tz).date().isoformat()


@dataclass
class Bands:
    """The chain's figures of one chain day. Kept as integers per store with
    enough data ([orders, weeks with data, average ticket fen]): compact, and
    the weekly orders recomputed from them are the very floats the store's
    own figure is compared with (`Numbers.weekly_orders`)."""

    day: str
    parts: list[list[int]]
    zones: dict[str, list[str]] = field(default_factory=dict)  # timezone -> store ids
    computed_at: datetime | None = None
    traffic: list[float] = field(init=False)  # sorted weekly orders
    spend: list[float] = field(init=False)  # sorted average tickets (fen)

    def __post_init__(self) -> None:
        self.traffic = sorted(orders / weeks for orders, weeks, _ in self.parts)
        self.spend = sorted(float(ticket) for _, _, ticket in self.parts)

    def to_blob(self) -> str:
        raw = json.dumps({"parts": self.parts, "zones": self.zones}, separators=(",", ":")).encode()
        blob = base64.b64encode(zlib.compress(raw, 6)).decode()
        if len(blob) > MAX_BLOB:  # about 30,000 stores (75 KB for 7,209); beyond, split the item
            raise ValueError(f"the chain's bands item would be {len(blob)} bytes (limit {MAX_BLOB})")
        return blob

    @classmethod
    def from_item(cls, item: InsightsChain) -> Bands:
        data: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(item.blob or "")))
        return cls(day=item.day or "", parts=data["parts"], zones=data["zones"], computed_at=item.computed_at)


def _bands_key(day: str) -> str:
    return f"bands#{day}"


def _zone_key(tz: str) -> str:
    return f"zone#{tz}"


def read_bands(day: str) -> Bands | None:
    try:
        return Bands.from_item(InsightsChain.get(_bands_key(day), consistent_read=True))
    except DoesNotExist:
        return None


def save_bands(bands: Bands, now: datetime) -> Bands:
    """The first run to save a chain day's bands wins; returns the bands
    every run of that day uses: these, or the ones a concurrent (or
    redelivered) run saved first, so all stores of the day are measured
    against one set. A re-send of our own put whose answer was lost is
    refused too and reads back our own item."""
    try:
        InsightsChain(_bands_key(bands.day), day=bands.day, blob=bands.to_blob(), computed_at=now,
                      expires_at=now + KEEP_BANDS).save(condition=InsightsChain.key.does_not_exist())
        return bands
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
    saved = read_bands(bands.day)
    assert saved is not None, "refused by an item that is there"
    return saved


@dataclass(frozen=True)
class Zone:
    day: str  # the last local day the zone's stores were refreshed for
    retry: tuple[str, ...] = ()  # stores that failed that day: the next runs retry them alone


def read_zones(zones: list[str]) -> dict[str, Zone]:
    return {item.key.removeprefix("zone#"): Zone(item.day, tuple(item.retry or ()))
            for item in InsightsChain.batch_get([_zone_key(tz) for tz in zones]) if item.day}  # pages of 100


def mark_zone_done(tz: str, day: str, now: datetime, retry: list[str] | None = None) -> bool:
    """Set the zone's stamp to `day` with the stores still to retry; never
    lowers it (a late run of an earlier day changes nothing). False when it
    already stood past `day`.

    The list is replaced whole, and a concurrent run's entry is not lost by
    that: a run lists every store it tried and failed, and it tried every
    store that could still be undone when it read the stamp (a run whose
    zone was due tries the day's whole roster; a retrying run, the list it
    read, which by the same rule held every undone store), and a store once
    refreshed for the day stays so. So whichever run writes last, each store
    left off its list was refreshed. At worst a list names a store another
    run has since refreshed; the next run finds its stamp and drops it."""
    try:
        InsightsChain(_zone_key(tz)).update(
            actions=[InsightsChain.day.set(day), InsightsChain.computed_at.set(now),
                     InsightsChain.retry.set(retry) if retry else InsightsChain.retry.remove()],
            condition=InsightsChain.day.does_not_exist() | (InsightsChain.day <= day))
        return True
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
