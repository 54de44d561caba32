"""Joins per second: N concurrent clients joining ONE store (every join
contends for the same group and pointer items) vs MANY stores (no shared
items). Calls the service layer (`groups.service.join_by_id`) from threads,
in one process, against its own DynamoDB Local; no HTTP in the way, so the
numbers are the storage protocol's, not chalice local's.

    .venv/bin/python -m bench.join [--clients 16] [--joins 400] [--capacity 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.groups import join as joiner  # noqa: E402
from chalicelib.groups import outcome  # noqa: E402
from chalicelib.groups import service as groups  # noqa: E402
from chalicelib.groups.models import GroupRecord  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores import service as stores  # noqa: E402
from chalicelib.stores.schemas import StoreIn  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402

outcomes: Counter[str] = Counter()


def count_outcomes() -> None:
    """Wrap the pure classifier to see how often each race was lost."""
    classify = outcome.classify

    def counting(code: str | None, reasons: dict[str, str | None]) -> outcome.Outcome | None:
        result = classify(code, reasons)
        outcomes[result.value if result else "other"] += 1
        return result

    joiner.oc.classify = counting  # type: ignore[assignment]


def run(label: str, store_ids: list[str], joins: int, clients: int) -> dict[str, float | str]:
    outcomes.clear()
    now = datetime.now(UTC)
    latencies: list[float] = []

    def one(i: int) -> None:
        t0 = time.perf_counter()
        groups.join_by_id(f"{label}-m{i:05d}", store_ids[i % len(store_ids)], now)
        latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(joins)))
    elapsed = time.perf_counter() - t0
    members = sum(int(g.member_count) for s in store_ids for g in GroupRecord.query(s, consistent_read=True))
    assert members == joins, (members, joins)
    latencies.sort()
    return {"scenario": label, "stores": len(store_ids), "clients": clients, "joins": joins,
            "joins_per_s": joins / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
            "lost_races": ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items())) or "-"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--joins", type=int, default=300)
    parser.add_argument("--capacity", type=int, default=20)
    args = parser.parse_args()

    ddb = DynamoDBLocal().start()
    try:
        os.environ.update({**ddb.env(), "STORELOOP_TABLE_PREFIX": "bench-join-"})
        os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
        reset_settings()
        db.create_tables()
        now = datetime.now(UTC)
        count_outcomes()
        results = []
        for n, clients in enumerate(args.clients):
            # fresh stores per run, so every run starts at group 1 with no members
            hot, many = f"hot{n}", [f"r{n}s{i:03d}" for i in range(64)]
            rows = [(sid, StoreIn.model_validate({"name": "店", "city": "上海市", "lat": 30.0 + n + i * 0.01,
                                                  "lng": 120.0, "group_capacity": args.capacity}))
                    for i, sid in enumerate([hot, *many])]
            stores.upsert_many(rows, now)
            results.append(run(f"one-store/c{clients}", [hot], args.joins, clients))
            results.append(run(f"many-stores/c{clients}", many, args.joins, clients))
    finally:
        ddb.stop()
    print(f"\nDynamoDB Local, service layer from threads, capacity {args.capacity}, {args.joins} joins per run")
    print(f"{'scenario':<20}{'stores':>7}{'clients':>8}{'joins/s':>9}{'p50 ms':>8}{'p95 ms':>8}  lost races (retried)")
    for r in results:
        print(f"{r['scenario']:<20}{r['stores']:>7}{r['clients']:>8}{r['joins_per_s']:>9.1f}"
              f"{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}  {r['lost_races']}")


if __name__ == "__main__":
    main()
