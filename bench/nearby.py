"""Nearby lookups at national scale: every store in the shared data set
(7,209; the built-in demo set if the shared file is absent) on its own
DynamoDB Local. Measures median latency and DynamoDB items read per lookup
(the GSI queries' ScannedCount) against a full-table Scan baseline and a
single GetItem floor, all in the same run.

    .venv/bin/python -m bench.nearby [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.geo.coords import distance_m  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores import nearby, service  # noqa: E402
from chalicelib.stores.csv_import import default_source, read_rows  # noqa: E402
from chalicelib.stores.models import StoreRecord  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402


def point_near(record: StoreRecord, rng: random.Random) -> tuple[float, float]:
    # within ~1.2 km of a real store: where members actually open the app
    return float(record.lat) + rng.uniform(-0.011, 0.011), float(record.lng) + rng.uniform(-0.013, 0.013)


def timed(fn: Callable[[], int], runs: int) -> tuple[float, float]:
    """(median ms, median items read)"""
    ms, items = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        items.append(fn())
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms), statistics.median(items)


def scan_lookup(lat: float, lng: float) -> int:
    """The baseline: read every store, filter in Python."""
    result = StoreRecord.scan()
    records = list(result)
    nearby.covering(records, lat, lng)
    return result.page_iter.total_scanned_count


_calls = [0]


def _count(**_: object) -> None:
    _calls[0] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--scans", type=int, default=5)
    parser.add_argument("--csv", type=Path, default=None, help="store list (default: the shared 7,209-store set)")
    args = parser.parse_args()
    source = args.csv or default_source()
    rows = list(read_rows(source))
    rng = random.Random(42)

    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": "bench-nearby-"})
        os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
        reset_settings()
        db.create_tables()
        db.connection().client.meta.events.register("before-call.dynamodb.*", _count)
        # items read with 100 stores, then (same points) with all of them
        small = service.upsert_many([(r.store_id, r) for r in random.Random(1).sample(rows, min(100, len(rows)))],
                                    datetime.now(UTC))
        small_points = [point_near(rng.choice(small), rng) for _ in range(50)]
        small_items = [nearby.find(lat, lng).items_read for lat, lng in small_points]
        t0 = time.perf_counter()
        records = service.upsert_many([(r.store_id, r) for r in rows], datetime.now(UTC))
        load_s = time.perf_counter() - t0
        full_items = [nearby.find(lat, lng).items_read for lat, lng in small_points]

        points = [point_near(rng.choice(records), rng) for _ in range(args.queries)]
        lookups = []
        for lat, lng in points[:20]:  # warm up the client pool and DynamoDB Local's JIT
            nearby.find(lat, lng)
        ms, found, items, queries, requests, pair_get_ms = [], [], [], [], [], []
        some_id = records[0].store_id
        for lat, lng in points:
            t = time.perf_counter()
            StoreRecord.get(some_id)  # the GetItem floor, interleaved: the same moment's machine load
            pair_get_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            before = _calls[0]
            lookup = nearby.find(lat, lng)
            ms.append((time.perf_counter() - t) * 1000)
            requests.append(_calls[0] - before)
            items.append(lookup.items_read)
            found.append(len(lookup.hits))
            queries.append(lookup.queries)
            lookups.append(lookup)
        # sanity: the index agrees with brute force on a sample
        for (lat, lng), lookup in list(zip(points, lookups, strict=True))[:50]:
            expected = sorted((distance_m(lat, lng, float(r.lat), float(r.lng)), r.store_id) for r in records
                              if distance_m(lat, lng, float(r.lat), float(r.lng)) <= float(r.radius_m))
            assert [h.record.store_id for h in lookup.hits] == [sid for _, sid in expected[:nearby.DEFAULT_LIMIT]]

        # the densest case: central Shanghai, dozens of stores within a kilometre
        dense = iter([(31.2304 + rng.uniform(-0.02, 0.02), 121.4737 + rng.uniform(-0.025, 0.025))
                      for _ in range(100)])
        dense_ms, dense_items = timed(lambda: nearby.find(*next(dense)).items_read, 100)
        scan_ms, scan_items = timed(lambda: scan_lookup(*points[0]), args.scans)
        some = records[0].store_id
        get_ms, get_items = timed(lambda: (StoreRecord.get(some), 1)[1], 50)
    finally:
        ddb.stop()

    nearby_ms, nearby_items = statistics.median(ms), statistics.median(items)
    print(f"\n{len(records):,} stores from {source.name} loaded in {load_s:.1f} s; "
          f"{args.queries} lookups near random stores (max radius {max(int(r.radius_m) for r in records)} m)")
    print(f"{'lookup':<28}{'median ms':>10}{'items read':>12}{'queries':>9}")
    print(f"{'nearby (geo index)':<28}{nearby_ms:>10.1f}{nearby_items:>12.0f}{statistics.median(queries):>9.0f}")
    print(f"{'nearby, central Shanghai':<28}{dense_ms:>10.1f}{dense_items:>12.0f}{'':>9}")
    print(f"{'full scan baseline':<28}{scan_ms:>10.1f}{scan_items:>12.0f}{'-':>9}")
    print(f"{'GetItem floor':<28}{get_ms:>10.1f}{get_items:>12.0f}{1:>9}")
    print(f"items read: scan / nearby = {scan_items / max(nearby_items, 1):.0f}x; "
          f"latency: scan / nearby = {scan_ms / nearby_ms:.1f}x; nearby / GetItem = {nearby_ms / get_ms:.1f}x")
    print(f"items read per lookup: p95 {sorted(items)[int(len(items) * 0.95) - 1]}, max {max(items)}; "
          f"stores found: median {statistics.median(found):.0f}, max {max(found)}")
    paired = statistics.median(ms) / statistics.median(pair_get_ms)
    print(f"DynamoDB requests per lookup: mean {statistics.mean(requests):.2f}, max {max(requests)} (goal <= 4); "
          f"latency nearby / GetItem interleaved = {paired:.2f}x (goal <= 3; "
          f"GetItem median {statistics.median(pair_get_ms):.1f} ms)")
    print(f"items read at the same 50 points: {statistics.mean(small_items):.1f} with 100 stores loaded, "
          f"{statistics.mean(full_items):.1f} with {len(records):,} (only neighbours within the index radius count)")
    print(f"model-inputs nearby_requests={statistics.mean(requests):.3f} nearby_items={statistics.mean(items):.3f}")


if __name__ == "__main__":
    main()
