"""Seeding stores in parallel chunks with progress (moto): every store lands,
the progress ends at the total, a re-run converges, and the non-terminal bar
prints about one line per tenth."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from chalicelib.stores import seed
from chalicelib.stores.csv_import import DEMO_CSV, read_rows
from chalicelib.stores.models import StoreRecord
from tests.api import Api


def test_seed_writes_every_store_and_reports_progress(api: Api) -> None:
    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)]
    seen: list[tuple[int, int]] = []
    seconds = seed.seed(rows, datetime.now(UTC), progress=lambda done, total, _s: seen.append((done, total)),
                        chunk=7, workers=3)
    assert seconds > 0
    assert seen[0] == (0, len(rows)) and seen[-1] == (len(rows), len(rows))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {s.store_id for s in StoreRecord.scan()} == {sid for sid, _ in rows}
    seed.seed(rows, datetime.now(UTC), chunk=7, workers=3)  # idempotent: a re-run converges
    assert sum(1 for _ in StoreRecord.scan()) == len(rows)


def test_the_bar_shows_count_time_and_rate_once_per_tenth_off_a_terminal() -> None:
    out = io.StringIO()
    show = seed.bar(out)
    for done in range(0, 1001, 50):
        show(done, 1000, done / 500)
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 12
    assert lines[-1].startswith("seeding stores [" + "#" * 30 + "] 1,000/1,000")
    assert lines[-1].endswith("500 stores/s") and "2.0 s" in lines[-1]
