"""Seeding stores in parallel chunks with progress (moto): every store lands,
the progress ends at the total, a re-run converges, and the non-terminal bar
prints about one line per tenth."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.campaigns import store_seed as seed
from chalicelib.campaigns.models import SlotIndexRecord
from chalicelib.campaigns.schedule import index_items, store_plan
from chalicelib.stores.csv_import import DEMO_CSV, read_rows
from chalicelib.stores.models import GeoMeta, StoreRecord
from chalicelib.stores.service import to_record
from tests.api import Api


def stored(rows: seed.Rows, chunk: int) -> seed.Ledger:
    """The ledger as the seed and the CLI read it."""
    return seed.read_ledger(seed.fingerprint(rows, chunk))


def test_seed_writes_every_store_and_reports_progress(api: Api) -> None:
    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)]
    seen: list[tuple[int, int]] = []
    # one thread: moto's TransactWriteItems is not thread-safe (DynamoDB Local is: the stack test and
    # bench/seed.py seed on seed.WORKERS threads)
    seconds = seed.seed(rows, datetime.now(UTC), progress=lambda done, total, _s: seen.append((done, total)),
                        chunk=7, workers=1)
    assert seconds > 0
    assert seen[0] == (0, len(rows)) and seen[-1] == (len(rows), len(rows))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {s.store_id for s in StoreRecord.scan()} == {sid for sid, _ in rows}
    # the slot index the tick reads: every open store's default-plan slots, as schedule.reindex writes them
    now = datetime.now(UTC)
    expected = {(i.bucket, i.key) for sid, row in rows if row.status == "open"
                for i in index_items(to_record(sid, row, now), store_plan(to_record(sid, row, now), None), now)}
    assert expected and {(i.bucket, i.key) for i in SlotIndexRecord.scan()} == expected
    seed.seed(rows, datetime.now(UTC), chunk=7, workers=1)  # idempotent: a re-run converges
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


def test_a_complete_seed_is_skipped_by_its_ledger_and_other_data_starts_a_new_one(api: Api) -> None:
    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)][:20]
    seed.seed(rows, datetime.now(UTC), chunk=6, workers=1)
    assert stored(rows, 6).complete and stored(rows, 6).done == frozenset(range(4))
    StoreRecord(rows[0][0]).delete()  # proof that a restart writes nothing: the store stays deleted
    seed.seed(rows, datetime.now(UTC), chunk=6, workers=1)
    assert sum(1 for _ in StoreRecord.scan()) == len(rows) - 1
    # other data (here: fewer rows) has another fingerprint: seeded in full, and the ledger is now its
    assert not stored(rows[:10], 6).complete
    seed.seed(rows[:10], datetime.now(UTC), chunk=6, workers=1)
    assert stored(rows[:10], 6).complete and not stored(rows, 6).complete
    assert sum(1 for _ in StoreRecord.scan()) == len(rows)


def test_an_interrupted_seed_resumes_with_the_chunks_it_had_not_finished(api: Api, monkeypatch) -> None:
    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)][:30]
    real = seed.write_chunk
    written: list[str] = []

    def crash_on_chunk_3(part, now):  # type: ignore[no-untyped-def]
        if part[0][0] == rows[15][0]:
            raise KeyboardInterrupt("Ctrl-C half-way")
        written.extend(store_id for store_id, _ in part)
        return real(part, now)

    monkeypatch.setattr(seed, "write_chunk", crash_on_chunk_3)
    with pytest.raises(KeyboardInterrupt):
        seed.seed(rows, datetime.now(UTC), chunk=5, workers=1)
    state = stored(rows, 5)
    assert not state.complete and {0, 1, 2} <= state.done and 3 not in state.done
    finished = [store_id for store_id, _ in rows[:15]] + [s for i in sorted(state.done - {0, 1, 2})
                                                         for s, _ in rows[i * 5:i * 5 + 5]]
    assert written == finished
    written.clear()
    monkeypatch.setattr(seed, "write_chunk",
                        lambda part, now: (written.extend(s for s, _ in part), real(part, now)))
    seen: list[int] = []
    seed.seed(rows, datetime.now(UTC), progress=lambda done, _t, _s: seen.append(done), chunk=5, workers=1)
    # each store written once: the resume wrote only the chunks not in the ledger
    assert written == [s for i in range(6) if i not in state.done for s, _ in rows[i * 5:i * 5 + 5]]
    assert seen[0] == 5 * len(state.done) and seen[-1] == 30
    assert stored(rows, 5).complete
    assert {s.store_id for s in StoreRecord.scan()} == {store_id for store_id, _ in rows}


def test_the_cli_seed_finds_a_complete_seed_from_the_csv_alone_and_reseeds_a_changed_file(
        api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib import cli

    source = tmp_path / "stores.csv"
    lines = DEMO_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    source.write_text("".join(lines[:13]), encoding="utf-8")  # a header and 12 stores
    assert cli.main(["seed", "--csv", str(source)]) == 0
    assert "seeded 12 stores" in capsys.readouterr().out
    assert cli.main(["seed", "--csv", str(source)]) == 0  # a restart
    assert "12 stores from stores.csv already seeded (nothing to write)" in capsys.readouterr().out
    source.write_text("".join(lines[:16]), encoding="utf-8")  # the file changed: another row set
    assert cli.main(["seed", "--csv", str(source)]) == 0
    assert "seeded 15 stores" in capsys.readouterr().out
    assert sum(1 for _ in StoreRecord.scan()) == 15


def test_a_second_seeder_that_read_no_ledger_does_not_start_one_over_the_first_seeders(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)][:30]
    now = datetime.now(UTC)
    real_chunk, real_get = seed.write_chunk, GeoMeta.get
    written: list[int] = []
    monkeypatch.setattr(seed, "write_chunk",
                        lambda part, at: (written.append(len(part)), real_chunk(part, at))[1])
    b_has_read = []

    def a_seeds_after_bs_read(hash_key: str, *args: object, **kwargs: object) -> GeoMeta:
        try:
            return real_get(hash_key, *args, **kwargs)  # type: ignore[arg-type]
        finally:
            if hash_key == seed.LEDGER_KEY and not b_has_read:
                b_has_read.append(True)
                seed.seed(rows, now, chunk=5, workers=1)  # seeder A: all of it, between B's read and B's write

    monkeypatch.setattr(GeoMeta, "get", a_seeds_after_bs_read)
    # WHEN seeder B read "no ledger" and then A seeded everything
    seed.seed(rows, now, chunk=5, workers=1)
    # THEN B found A's ledger instead of emptying it, and wrote nothing again
    assert b_has_read and written == [5] * 6
    assert stored(rows, 5).done == frozenset(range(6))


def test_a_seed_written_over_a_newer_save_leaves_that_store_and_its_slots(api: Api) -> None:
    from chalicelib.campaigns import store_config
    from chalicelib.stores.schemas import StoreIn

    rows = [(r.store_id, r) for r in read_rows(DEMO_CSV)][:3]
    seeded_at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    store_id, data = rows[0]
    # GIVEN an operator moved store 0 to Chicago after the seed's rows were stamped
    newer = StoreIn.model_validate({**data.model_dump(exclude={"store_id"}), "timezone": "America/Chicago"})
    store_config.save_store(store_id, newer, datetime(2026, 11, 20, 3, tzinfo=UTC))
    # WHEN the seed's chunk is written (a resumed or long seed)
    seed.write_chunk(rows, seeded_at)
    # THEN store 0 and its slot items stay the operator's; the others are seeded
    assert StoreRecord.get(store_id).timezone == "America/Chicago"
    stored = StoreRecord.get(store_id)
    chicago = {(i.bucket, i.key) for i in index_items(stored, store_plan(stored, None), seeded_at)}
    filed = {(i.bucket, i.key): i for i in SlotIndexRecord.scan() if i.store_id == store_id}
    # (the seed's items under other UTC buckets are stale: the worker drops them against the store)
    assert chicago and all(filed[key].timezone == "America/Chicago" for key in chicago)
    assert all(StoreRecord.get(sid).updated_at == seeded_at for sid, _ in rows[1:])
