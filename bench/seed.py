"""First-run seeding: every demo store (the shared 7,209-store set, else the
built-in demo set) into a disk-backed DynamoDB Local, as `make run` does,
the old way (one `upsert_many` over all rows) and the new way
(`campaigns.store_seed`: chunks of stores and their slot-index items, 100 items per
TransactWriteItems, progress bar, ledger), in the same run on fresh table
prefixes; against two floors on the very same serialized items: raw
BatchWriteItem (25 a request) and raw TransactWriteItems (100 a request),
on as many threads as the seed.

Then the newcomer's path itself: `devtools.stack` (what `make run` starts
after `make deps console`) in a fresh state directory, timed to its first
HTTP answer and to "ready" (every store seeded), then stopped and started
again (a restart: the seed ledger says complete, nothing is written).

    .venv/bin/python -m bench.seed [--stores N] [--csv PATH] [--no-before] [--no-stack]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.campaigns import store_config  # noqa: E402
from chalicelib.campaigns import store_seed as seed  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores import service  # noqa: E402
from chalicelib.stores.csv_import import default_source, read_rows  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL_FIRST_RUN_S = 90.0
GOAL_RESTART_S = 10.0


def fresh(prefix: str) -> None:
    os.environ["STORELOOP_TABLE_PREFIX"] = prefix
    reset_settings()
    db.create_tables()


def raw_items(rows: list[tuple[str, Any]], now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The items the seed writes (each store and its slot-index items), serialized once."""
    from chalicelib.campaigns.schedule import index_items, store_plan

    items = []
    for store_id, data in rows:
        record = service.to_record(store_id, data, now)
        items.append((record.Meta.table_name, record.serialize()))
        if record.status == "open":
            items.extend((i.Meta.table_name, i.serialize()) for i in index_items(record, store_plan(record, None), now))
    return items


def raw_floor(items: list[tuple[str, dict[str, Any]]], workers: int, per_request: int = 25) -> float:
    """BatchWriteItem (25 items a request), or TransactWriteItems of
    `per_request` > 25 items, on `workers` threads, on the shared client."""
    client = db.connection().client

    def send(batch: list[tuple[str, dict[str, Any]]]) -> None:
        if per_request > 25:
            client.transact_write_items(TransactItems=[{"Put": {"TableName": t, "Item": i}} for t, i in batch])
            return
        request: dict[str, list[dict[str, Any]]] = {}
        for table, item in batch:
            request.setdefault(table, []).append({"PutRequest": {"Item": item}})
        while request:  # DynamoDB Local does not throttle; unprocessed items are re-sent as they come
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(send, [items[i:i + per_request] for i in range(0, len(items), per_request)]))
    return time.perf_counter() - started


def run_stack(local: Path, csv: Path, timeout_s: float = 600) -> dict[str, float]:
    """Start `devtools.stack` as a newcomer would (fresh shell variables, its
    own state dir, free ports); time its first HTTP answer and its "ready"
    line from the moment it is launched; then stop it (SIGINT, as Ctrl-C)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "JAVA_HOME", "TMPDIR")}
    env = {**keep, "STORELOOP_LOCAL_DIR": str(local), "STORELOOP_SEED_CSV": str(csv)}
    ports = [str(free_port()) for _ in range(4)]
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "devtools.stack", "--port", ports[0], "--ddb-port", ports[1],
                             "--wecom-port", ports[2], "--console-port", ports[3], "--tick-every", "3600"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    found: dict[str, float] = {}
    lines = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("API answering on"):
                found["http_s"] = time.monotonic() - started
            if "seeded" in line and "stores" in line:
                found["seed_line"] = 1.0
                match = re.search(r"in ([\d.]+) s", line)
                if match:
                    found["seed_s"] = float(match.group(1))
            if line.startswith("ready after"):
                found["ready_s"] = time.monotonic() - started
                break
        if "ready_s" not in found:
            raise SystemExit("the stack did not get ready:\n" + "".join(lines[-30:]))
        return found
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=0)
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--no-before", action="store_true", help="skip the slow one-upsert_many baseline")
    parser.add_argument("--no-stack", action="store_true", help="skip the `make run` first-run/restart timing")
    args = parser.parse_args()
    source = args.csv or default_source()
    rows = [(r.store_id, r) for r in read_rows(source)]
    if args.stores:
        rows = rows[: args.stores]
    old_s = 0.0
    with tempfile.TemporaryDirectory() as data_dir:
        ddb = DynamoDBLocal(in_memory=False, data_dir=Path(data_dir)).start()
        try:
            os.environ.update(ddb.env())
            os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
            if not args.no_before:
                fresh("bench-seed-old-")
                t0 = time.perf_counter()
                store_config.save_stores(rows, datetime.now(UTC))
                old_s = time.perf_counter() - t0
            fresh("bench-seed-raw-")
            items = raw_items(rows, datetime.now(UTC))
            raw_s = raw_floor(items, seed.WORKERS)
            fresh("bench-seed-rawtx-")
            rawtx_s = raw_floor(items, seed.WORKERS, seed.TXN_ITEMS)
            fresh("bench-seed-new-")
            shown = io.StringIO()
            new_s = seed.seed(rows, datetime.now(UTC), progress=seed.bar(shown))
            t0 = time.perf_counter()
            again = seed.seed(rows, datetime.now(UTC))  # a restart: the ledger says complete
            skip_s = time.perf_counter() - t0
            # an interrupted seed: forget the last third of the chunks, then resume
            state = seed.read_ledger(seed.fingerprint(rows, seed.CHUNK))
            chunks = sorted(state.done)
            lost = set(chunks[len(chunks) * 2 // 3:])
            from chalicelib.stores.models import GeoMeta

            GeoMeta(seed.LEDGER_KEY).update(actions=[GeoMeta.done.delete(lost)])
            resume_s = seed.seed(rows, datetime.now(UTC))
        finally:
            ddb.stop()
    stack: dict[str, float] = {}
    restart: dict[str, float] = {}
    if not args.no_stack:
        with tempfile.TemporaryDirectory() as local:
            stack = run_stack(Path(local), source)
            restart = run_stack(Path(local), source)
    print(f"{len(rows):,} stores from {source.name} into disk-backed DynamoDB Local")
    if args.no_before:
        print("one upsert_many (before):       skipped (--no-before)")
    else:
        print(f"one upsert_many (before):       {old_s:6.1f} s  {len(rows) / old_s:7,.0f} stores/s")
    label = f"stores.seed ({seed.WORKERS} threads, {seed.CHUNK}/chunk):"
    print(f"{label:<32}{new_s:6.1f} s  {len(rows) / new_s:7,.0f} stores/s")
    if not args.no_before:
        print(f"seed / before = {new_s / old_s:.2f}x the time")
    print("progress as a newcomer sees it (non-terminal form):")
    print(shown.getvalue().rstrip())
    label = f"raw BatchWriteItem floor ({seed.WORKERS} thr):"
    print(f"{label:<32}{raw_s:6.1f} s  {len(rows) / raw_s:7,.0f} stores/s  "
          f"({len(items):,} items, {len(items) / len(rows):.1f} per store, {len(items) / raw_s:,.0f} items/s)")
    print(f"seed / raw floor = {new_s / raw_s:.2f}x the time")
    label = f"raw TransactWriteItems of {seed.TXN_ITEMS} ({seed.WORKERS} thr):"
    print(f"{label:<32}{rawtx_s:6.1f} s  {len(rows) / rawtx_s:7,.0f} stores/s  ({len(items) / rawtx_s:,.0f} items/s; "
          f"what stores.seed sends)")
    print(f"seed / raw TransactWriteItems floor = {new_s / rawtx_s:.2f}x the time")
    print(f"re-seed of a complete seed (ledger read only): {skip_s * 1000:.0f} ms "
          f"({skip_s / new_s:.3f}x the seed; returned {again:.2f} s)")
    print(f"resume after losing the last third of the chunks: {resume_s:.1f} s ({resume_s / new_s:.2f}x the seed)")
    if stack:
        print(f"first run (devtools.stack, fresh state): HTTP answers after {stack['http_s']:.1f} s, "
              f"all {len(rows):,} stores seeded after {stack['ready_s']:.1f} s "
              f"(seed {stack.get('seed_s', 0):.1f} s) -> {stack['ready_s'] / GOAL_FIRST_RUN_S:.2f}x the "
              f"{GOAL_FIRST_RUN_S:.0f} s goal; ready / raw floor = {stack['ready_s'] / raw_s:.2f}x")
        print(f"restart (same state): HTTP answers after {restart['http_s']:.1f} s, ready after "
              f"{restart['ready_s']:.1f} s -> {restart['ready_s'] / GOAL_RESTART_S:.2f}x the "
              f"{GOAL_RESTART_S:.0f} s goal")


if __name__ == "__main__":
    main()
