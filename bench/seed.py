"""First-run seeding: every demo store (the shared 7,209-store set, else the
built-in demo set) into a disk-backed DynamoDB Local, as `make run` does,
the old way (one `upsert_many` over all rows) and the new way
(`stores.seed`: chunks on a few threads, progress bar), in the same run on
fresh table prefixes.

    .venv/bin/python -m bench.seed [--stores N] [--csv PATH]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chalicelib import db  # noqa: E402
from chalicelib.settings import reset_settings  # noqa: E402
from chalicelib.stores import seed, service  # noqa: E402
from chalicelib.stores.csv_import import default_source, read_rows  # noqa: E402
from devtools.dynamodb_local import DynamoDBLocal  # noqa: E402


def fresh(prefix: str) -> None:
    os.environ["STORELOOP_TABLE_PREFIX"] = prefix
    reset_settings()
    db.create_tables()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=0)
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    source = args.csv or default_source()
    rows = [(r.store_id, r) for r in read_rows(source)]
    if args.stores:
        rows = rows[: args.stores]
    with tempfile.TemporaryDirectory() as data_dir:
        ddb = DynamoDBLocal(in_memory=False, data_dir=Path(data_dir)).start()
        try:
            os.environ.update(ddb.env())
            os.environ.setdefault("STORELOOP_JWT_SECRET", "bench-secret-0123456789-0123456789-abcdef")
            fresh("bench-seed-old-")
            t0 = time.perf_counter()
            service.upsert_many(rows, datetime.now(UTC))
            old_s = time.perf_counter() - t0
            fresh("bench-seed-new-")
            shown = io.StringIO()
            new_s = seed.seed(rows, datetime.now(UTC), progress=seed.bar(shown))
        finally:
            ddb.stop()
    print(f"{len(rows):,} stores from {source.name} into disk-backed DynamoDB Local")
    print(f"one upsert_many (before):       {old_s:6.1f} s  {len(rows) / old_s:7,.0f} stores/s")
    label = f"stores.seed ({seed.WORKERS} threads, {seed.CHUNK}/chunk):"
    print(f"{label:<32}{new_s:6.1f} s  {len(rows) / new_s:7,.0f} stores/s")
    print(f"seed / before = {new_s / old_s:.2f}x the time")
    print("progress as a newcomer sees it (non-terminal form):")
    print(shown.getvalue().rstrip())


if __name__ == "__main__":
    main()
