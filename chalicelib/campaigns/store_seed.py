"""Seeding many stores fast, with progress (the demo's 7,209 stores on a
newcomer's first `make run`), and only once.

Stores are written in chunks (`write_chunk`: one guarded radius update,
then each store item followed by its slot-index items, 100 items per
TransactWriteItems), on one thread by default (`WORKERS`). Why transactions, not BatchWriteItem
(25 items): on a disk-backed DynamoDB Local the cost is per request (each is
a database transaction on disk), so 100 items a request seeds several times
faster (bench/seed.py prints both); on AWS a transactional write costs 2
write units per item, which for a one-off import of the stores is cents.
Every chunk is idempotent (plain puts of complete items).

A ledger item (`GeoMeta` key "seed") records which chunks of which row set
(a fingerprint of the rows and the chunk size) are written, each chunk
marked after it is complete. So a restart on the same data finds the seed
complete with one read and writes nothing, and a seed interrupted half-way
(Ctrl-C, a crash) resumes with the chunks it had not finished. Other data
(another CSV, `--limit`) starts a new ledger. The ledger is created or
replaced only over what was read (`start_ledger`), so two seeders never both
start one."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from chalicelib import retry
from chalicelib.campaigns.models import SlotIndexRecord, SlotPlanRecord
from chalicelib.campaigns.schedule import index_items, store_plan
from chalicelib.campaigns.slots import SlotSpec
from chalicelib.stores.models import GeoMeta, StoreRecord
from chalicelib.stores.schemas import StoreIn
from chalicelib.stores.service import raise_max_radius, to_record
from chalicelib.txn import TRANSACTION_ITEMS, is_condition_failure, put_each, resending

CHUNK = 250
# one writer: a disk-backed DynamoDB Local serializes writes on its database
# file; more threads only contend (1,500 stores: 932 items/s on one thread,
# 578 on two, 569 on four, one run each on this machine). `--workers` for AWS.
WORKERS = 1
TXN_ITEMS = TRANSACTION_ITEMS  # the seed writes in transactions of this many items (txn.put_each)
LEDGER_KEY = "seed"
LEDGER_VERSION = "1"  # bump when what a chunk writes changes: older seeds are then redone

Progress = Callable[[int, int, float], None]  # (done, total, seconds so far)
Rows = Sequence[tuple[str, StoreIn]]


@dataclass(frozen=True)
class Ledger:
    fingerprint: str
    chunks: int
    done: frozenset[int]

    @property
    def complete(self) -> bool:
        return self.chunks > 0 and len(self.done) >= self.chunks


def fingerprint(rows: Rows, chunk: int) -> str:
    digest = hashlib.sha256(f"{LEDGER_VERSION}:{chunk}".encode())
    for store_id, data in rows:
        digest.update(f"\n{store_id}\t".encode() + data.model_dump_json().encode())
    return digest.hexdigest()[:32]


def split(rows: Rows, chunk: int) -> list[list[tuple[str, StoreIn]]]:
    return [list(rows[i:i + chunk]) for i in range(0, len(rows), chunk)]


def source_fingerprint(path: Path, limit: int = 0, chunk: int = CHUNK) -> str:
    """A row set's fingerprint from its CSV's bytes (and `--limit`), so that a
    restart can find its seed complete without parsing 7,209 rows."""
    digest = hashlib.sha256(f"{LEDGER_VERSION}:{chunk}:{limit}:csv\n".encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _stored() -> GeoMeta | None:
    try:
        return GeoMeta.get(LEDGER_KEY, consistent_read=True)
    except DoesNotExist:
        return None


def _ledger_of(item: GeoMeta | None, fp: str, chunks: int | None) -> Ledger:
    """The stored ledger if it is this row set's (`fp`), else an empty one.
    `chunks` None: as the ledger recorded it."""
    if item is None or item.fingerprint != fp:
        return Ledger(fp, chunks or 0, frozenset())
    return Ledger(fp, int(item.chunks or 0) if chunks is None else chunks, frozenset(int(i) for i in (item.done or ())))


def read_ledger(fp: str) -> Ledger:
    """What is already written of the row set `fp` (`fingerprint`,
    `source_fingerprint`): nothing if another was seeded last."""
    return _ledger_of(_stored(), fp, None)


def write_chunk(part: Sequence[tuple[str, StoreIn]], now: datetime) -> int:
    """Every store of `part` and its slot-index items (the schedule the tick
    reads), each store before its index items, each put only over an older
    version (as a store save and its re-file: a seed resumed over live data
    leaves a newer save alone); returns the items written."""
    records = [to_record(store_id, data, now) for store_id, data in part]
    if not records:
        return 0
    # the index radius first: a store saved before its radius is known to the index could be missed by nearby
    raise_max_radius(max(int(r.radius_m) for r in records))
    custom = {p.store_id: [SlotSpec(s.slot, s.at, s.kind) for s in p.slots]
              for p in SlotPlanRecord.batch_get([r.store_id for r in records])}
    newer_store = StoreRecord.store_id.does_not_exist() | (StoreRecord.updated_at <= now)
    puts: list[tuple[Model, Any]] = []
    for record in records:
        puts.append((record, newer_store))
        if record.status == "open":  # a closed store posts nothing (as schedule.reindex)
            puts.extend((item, SlotIndexRecord.store_version.does_not_exist()
                         | (SlotIndexRecord.store_version <= item.store_version))
                        for item in index_items(record, store_plan(record, custom.get(record.store_id)), now))
    return put_each(puts, what="the seed")


def start_ledger(fp: str, chunks: int) -> Ledger:
    """This row set's ledger: the one stored if it is this row set's (a
    restart, or another seeder of the same data: resume from its marks), else
    a new one, put only over the ledger just read. Timeline this guards
    against (two seeders of the same rows, A and B):

      B reads: no ledger;  A creates it, writes and marks chunks 0..5
      B puts a new, empty ledger over A's: A's marks are gone, B redoes all
      with the guard: B's put (attribute_not_exists) fails; B reads again,
      finds this row set's ledger and resumes from it (nothing left to do).

    A seeder of other data replaces the ledger only as it read it; the
    seeder it replaced then records nothing more (`_mark_done`)."""
    for _ in retry.attempts(what="the seed ledger"):
        item = _stored()
        if item is not None and item.fingerprint == fp:
            return _ledger_of(item, fp, chunks)
        fresh = GeoMeta(LEDGER_KEY, fingerprint=fp, chunks=chunks)
        as_read = GeoMeta.key.does_not_exist() if item is None else GeoMeta.fingerprint == item.fingerprint
        try:
            resending(lambda: fresh.save(condition=as_read))  # noqa: B023 - called within this iteration
            return Ledger(fp, chunks, frozenset())
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            # another seeder (or our own put whose answer was lost) wrote it since the read: read again
    raise AssertionError("retry.attempts ends by raising")


def _mark_done(fp: str, index: int) -> None:
    """Add a finished chunk, only to this row set's ledger (a seed of other
    data started since owns the ledger now: then nothing is recorded)."""
    try:
        GeoMeta(LEDGER_KEY).update(actions=[GeoMeta.done.add({index})], condition=GeoMeta.fingerprint == fp)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def seed(rows: Rows, now: datetime, progress: Progress | None = None,
         chunk: int = CHUNK, workers: int = WORKERS, fp: str | None = None) -> float:
    """Upsert every row not already seeded; returns the seconds it took.
    `fp`: the row set's fingerprint when the caller has one (the CLI's, from
    the CSV file), else one from the rows."""
    start = time.perf_counter()
    lock = threading.Lock()
    parts = split(rows, chunk)
    state = start_ledger(fp or fingerprint(rows, chunk), len(parts))
    pending = [i for i in range(len(parts)) if i not in state.done]
    done = len(rows) - sum(len(parts[i]) for i in pending)

    def one(index: int) -> None:
        nonlocal done
        write_chunk(parts[index], now)
        _mark_done(state.fingerprint, index)
        with lock:
            done += len(parts[index])
            if progress is not None:
                progress(done, len(rows), time.perf_counter() - start)

    if progress is not None:
        progress(done, len(rows), 0.0)
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for future in [pool.submit(one, index) for index in pending]:
            future.result()  # re-raises the first failure
    finally:  # on a failure or Ctrl-C: no new chunk starts; the ledger has every finished one
        pool.shutdown(wait=True, cancel_futures=True)
    return time.perf_counter() - start


def bar(out: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A progress bar with count, elapsed time and rate: redrawn in place on
    a terminal, one line per ~10% otherwise (logs, captured output)."""
    interactive = out.isatty()
    last_decile = [-1]
    base: list[int] = []  # where this run started (a resumed seed starts part-way)

    def show(done: int, total: int, seconds: float) -> None:
        base[:] = base or [done]
        filled = int(width * done / max(total, 1))
        rate = (done - base[0]) / seconds if seconds > 0 else 0.0
        line = (f"seeding stores [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} "
                f"{seconds:5.1f} s  {rate:,.0f} stores/s")
        if interactive:
            out.write("\r" + line + ("\n" if done >= total else ""))
            out.flush()
            return
        decile = done * 10 // max(total, 1)
        if decile != last_decile[0] or done >= total:
            last_decile[0] = decile
            out.write(line + "\n")
            out.flush()

    return show
