"""Seeding many stores fast, with progress (the demo's 7,209 stores on a
newcomer's first `make run`).

Stores are upserted in chunks (`service.upsert_many`: one guarded radius
update, BatchWriteItem for the stores, the slot index items after them) on
a few threads at once, so DynamoDB Local's per-request latency overlaps
instead of adding up. Every chunk is idempotent, so a seed interrupted
half-way is finished by running it again."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TextIO

from chalicelib.stores.schemas import StoreIn
from chalicelib.stores.service import upsert_many

CHUNK = 250
WORKERS = 4

Progress = Callable[[int, int, float], None]  # (done, total, seconds so far)


def seed(rows: list[tuple[str, StoreIn]], now: datetime, progress: Progress | None = None,
         chunk: int = CHUNK, workers: int = WORKERS) -> float:
    """Upsert every row; returns the seconds it took."""
    start = time.perf_counter()
    lock = threading.Lock()
    done = 0

    def one(part: list[tuple[str, StoreIn]]) -> None:
        nonlocal done
        upsert_many(part, now)
        with lock:
            done += len(part)
            if progress is not None:
                progress(done, len(rows), time.perf_counter() - start)

    parts = [rows[i:i + chunk] for i in range(0, len(rows), chunk)]
    if progress is not None:
        progress(0, len(rows), 0.0)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, parts))  # re-raises the first failure
    return time.perf_counter() - start


def bar(out: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A progress bar with count, elapsed time and rate: redrawn in place on
    a terminal, one line per ~10% otherwise (logs, captured output)."""
    interactive = out.isatty()
    last_decile = [-1]

    def show(done: int, total: int, seconds: float) -> None:
        filled = int(width * done / max(total, 1))
        rate = done / seconds if seconds > 0 else 0.0
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
