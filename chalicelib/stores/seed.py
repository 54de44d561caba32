"""Seeding many stores fast, with progress (the demo's 7,209 stores on a
newcomer's first `make run`), and only once.

Stores are upserted in chunks (`service.upsert_many`: one guarded radius
update, BatchWriteItem for the stores, the slot index items after them) on
a few threads at once, so DynamoDB Local's per-request latency overlaps
instead of adding up. Every chunk is idempotent.

A ledger item (`GeoMeta` key "seed") records which chunks of which row set
(a fingerprint of the rows and the chunk size) are written, each chunk
marked after it is complete. So a restart on the same data finds the seed
complete with one read and writes nothing, and a seed interrupted half-way
(Ctrl-C, a crash) resumes with the chunks it had not finished. Other data
(another CSV, `--limit`) starts a new ledger."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.stores.models import GeoMeta
from chalicelib.stores.schemas import StoreIn
from chalicelib.stores.service import upsert_many
from chalicelib.txn import is_condition_failure

CHUNK = 250
WORKERS = 4
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
        return len(self.done) >= self.chunks


def fingerprint(rows: Rows, chunk: int) -> str:
    digest = hashlib.sha256(f"{LEDGER_VERSION}:{chunk}".encode())
    for store_id, data in rows:
        digest.update(f"\n{store_id}\t".encode() + data.model_dump_json().encode())
    return digest.hexdigest()[:32]


def split(rows: Rows, chunk: int) -> list[list[tuple[str, StoreIn]]]:
    return [list(rows[i:i + chunk]) for i in range(0, len(rows), chunk)]


def ledger(rows: Rows, chunk: int = CHUNK) -> Ledger:
    """What is already written of this row set (nothing if another was seeded last)."""
    fp = fingerprint(rows, chunk)
    chunks = len(split(rows, chunk))
    try:
        item = GeoMeta.get(LEDGER_KEY, consistent_read=True)
    except DoesNotExist:
        return Ledger(fp, chunks, frozenset())
    if item.fingerprint != fp:
        return Ledger(fp, chunks, frozenset())
    return Ledger(fp, chunks, frozenset(int(i) for i in (item.done or ())))


def is_seeded(rows: Rows, chunk: int = CHUNK) -> bool:
    return ledger(rows, chunk).complete


def _mark_done(fp: str, index: int) -> None:
    """Add a finished chunk, only to this row set's ledger (a seed of other
    data started since owns the ledger now: then nothing is recorded)."""
    try:
        GeoMeta(LEDGER_KEY).update(actions=[GeoMeta.done.add({index})], condition=GeoMeta.fingerprint == fp)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def seed(rows: Rows, now: datetime, progress: Progress | None = None,
         chunk: int = CHUNK, workers: int = WORKERS) -> float:
    """Upsert every row not already seeded; returns the seconds it took."""
    start = time.perf_counter()
    lock = threading.Lock()
    parts = split(rows, chunk)
    state = ledger(rows, chunk)
    if not state.done:  # a new ledger for this row set (replaces another's)
        GeoMeta(LEDGER_KEY, fingerprint=state.fingerprint, chunks=len(parts)).save()
    pending = [i for i in range(len(parts)) if i not in state.done]
    done = len(rows) - sum(len(parts[i]) for i in pending)

    def one(index: int) -> None:
        nonlocal done
        upsert_many(parts[index], now)
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
