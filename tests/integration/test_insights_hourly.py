"""The hourly insights refresh on DynamoDB Local: each store's new rules take
effect at its own local midnight, at-least-once and late runs are safe, and
the chain's bands are computed once per chain day and read by later runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.insights import chain
from chalicelib.insights.models import InsightsChain, PolicyAudit, StorePolicy, StoreWeek
from chalicelib.insights.refresh import RefreshSummary, run_refresh
from chalicelib.insights.weeks import orders_attr, spend_attr, week_key
from chalicelib.stores.models import StoreRecord
from tests.integration.test_campaign_days import add_store

pytestmark = pytest.mark.integration

SHANGHAI = [f"sh{i}" for i in range(1, 6)]
LONDON = "ldn"
FIRST = datetime(2026, 11, 22, 16, 5, tzinfo=UTC)  # Mon 23 Nov 00:05 in Shanghai
LONDON_MIDNIGHT = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)  # Mon 23 Nov 00:05 in London (GMT)
NEXT_SHANGHAI = datetime(2026, 11, 23, 16, 5, tzinfo=UTC)  # Tue 24 Nov 00:05 in Shanghai


def history(store_id: str, scale: int) -> None:
    """Weeks 45-47 (complete before 23 Nov; 45-46 before London's Sunday
    22nd): `scale` orders an hour 10:00-20:00 except 15:00, three times that
    on Fridays; ¥30 a ticket."""
    for monday in (date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)):
        item = StoreWeek(store_id, week_key(monday), last_visitors=0)
        for day in range(7):
            for hour in range(10, 21):
                if hour != 15:
                    orders = scale * (3 if day == 4 else 1)
                    setattr(item, orders_attr(day * 24 + hour), orders)
                    setattr(item, spend_attr(day * 24 + hour), orders * 3000)
        item.save()


@pytest.fixture
def chain_stores(ddb_env: dict) -> list[str]:
    """Five Shanghai stores and one in London, all on member day MON and idle
    hour 16:00, whose data say FRI and 15:00."""
    for n, store_id in enumerate(SHANGHAI, start=1):
        add_store(store_id, groups=0)
        history(store_id, n)
    add_store(LONDON, groups=0, tz="Europe/London")
    history(LONDON, 3)
    return [*SHANGHAI, LONDON]


def hourly(start: datetime, end: datetime, skip: tuple[datetime, ...] = ()) -> Iterator[datetime]:
    at = start
    while at <= end:
        if at not in skip:
            yield at
        at += timedelta(hours=1)


def member_day(store_id: str) -> str:
    return StoreRecord.get(store_id, consistent_read=True).member_day


def applied_audit(store_id: str) -> list[PolicyAudit]:
    return [a for a in PolicyAudit.query(store_id) if a.what == "applied"]


def test_each_store_gets_its_change_at_its_own_local_midnight_with_the_days_bands(chain_stores: list[str],
                                                                                   ddb_env: dict) -> None:
    from tests.integration.test_function_access import recording

    runs: dict[datetime, RefreshSummary] = {}
    for at in hourly(FIRST, NEXT_SHANGHAI):
        if at == LONDON_MIDNIGHT:
            assert member_day(LONDON) == "MON"  # not before its local day
            with recording(ddb_env["STORELOOP_TABLE_PREFIX"]) as calls:
                runs[at] = run_refresh(at, 8)
        else:
            runs[at] = run_refresh(at, 8)
        assert runs[at].errors == 0
        if at == NEXT_SHANGHAI - timedelta(hours=1):
            assert [member_day(s) for s in SHANGHAI] == ["MON"] * 5  # Shanghai's day has not come
    # the first run of each chain day (00:05 Shanghai) did the full pass; every other run read its item
    assert [at for at, s in runs.items() if s.bands == "computed"] == [FIRST, NEXT_SHANGHAI]
    # the first run handled both zones (no stamps yet); then London at its 00:05, Shanghai at its 00:05
    assert {at: s.zones for at, s in runs.items() if s.zones} == {
        FIRST: ["Asia/Shanghai", "Europe/London"], LONDON_MIDNIGHT: ["Europe/London"],
        NEXT_SHANGHAI: ["Asia/Shanghai"]}
    assert {at: s.stores for at, s in runs.items() if s.stores} == {FIRST: 6, LONDON_MIDNIGHT: 1, NEXT_SHANGHAI: 5}
    assert member_day(LONDON) == "FRI" and [member_day(s) for s in SHANGHAI] == ["FRI"] * 5
    london = applied_audit(LONDON)
    assert {a.field for a in london} >= {"member_day", "idle_hour"}
    assert {a.at for a in london} == {LONDON_MIDNIGHT} and {a.effective_from for a in london} == {"2026-11-23"}
    assert {a.at for s in SHANGHAI for a in applied_audit(s)} == {NEXT_SHANGHAI}
    # London's run read the bands item (1), the two zone stamps (2), its store (1), its policy (1) and its
    # three week items (3): no Scan, no other store's numbers
    assert runs[LONDON_MIDNIGHT].items_read == 8 and ("stores", "dynamodb:Scan") not in calls.used
    assert all(s.items_read == 3 for at, s in runs.items() if not s.zones)  # bands + 2 stamps
    # ... and measured London against the whole chain's bands of the day
    figures = StorePolicy.get(LONDON).derived["traffic_tier"]["figures"]
    assert figures["chain_stores"] == 6 and StorePolicy.get(LONDON).refreshed_day == "2026-11-23"
    # the next chain day's full pass: 6 stores (Scan), 2 zone stamps, 6 policy items, the 5 Shanghai stores'
    # 3 week items each; London is in the bands by the figures of its own refresh at its 00:05, not re-read
    assert runs[NEXT_SHANGHAI].items_read == 6 + 2 + 6 + 5 * 3
    assert StorePolicy.get("sh1").derived["traffic_tier"]["figures"]["chain_stores"] == 6


def test_a_repeated_or_concurrent_run_applies_nothing_twice(chain_stores: list[str]) -> None:
    assert run_refresh(FIRST, 8).stores == 6
    twins: list[RefreshSummary] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        twins.append(run_refresh(LONDON_MIDNIGHT, 8))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    london = applied_audit(LONDON)
    assert len(london) == len({a.field for a in london}) >= 2  # each field applied once
    assert sum(s.applied for s in twins) == len(london) and sum(s.stores for s in twins) == 1
    assert member_day(LONDON) == "FRI"
    assert not {"member_day", "idle_hour"} & set(StorePolicy.get(LONDON, consistent_read=True).pending or {})

    again = run_refresh(LONDON_MIDNIGHT + timedelta(minutes=2), 8)  # a redelivered trigger
    assert (again.zones, again.stores, again.applied) == ([], 0, 0)
    # a duplicate that read the zone stamps before they were raised: the store's own stamp stops it
    InsightsChain("zone#Europe/London").delete()
    again = run_refresh(LONDON_MIDNIGHT + timedelta(minutes=3), 8)
    assert (again.zones, again.stores, again.already, again.applied, again.scheduled) == (
        ["Europe/London"], 0, 1, 0, 0)
    assert len(applied_audit(LONDON)) == len(london)
    assert chain.read_zones(["Europe/London"]) == {"Europe/London": chain.Zone("2026-11-23")}


def test_a_missed_hour_is_caught_up_by_the_next_run(chain_stores: list[str]) -> None:
    # the chain day's 00:05 Shanghai run and London's 00:05 never fired
    runs = {at: run_refresh(at, 8)
            for at in hourly(FIRST, LONDON_MIDNIGHT + timedelta(hours=1), skip=(FIRST, LONDON_MIDNIGHT))}
    first = runs[FIRST + timedelta(hours=1)]
    assert first.bands == "computed" and first.zones == ["Asia/Shanghai", "Europe/London"] and first.stores == 6
    late = runs[LONDON_MIDNIGHT + timedelta(hours=1)]
    assert late.zones == ["Europe/London"] and late.stores == 1 and late.applied >= 2
    assert member_day(LONDON) == "FRI"
    assert sum(1 for s in runs.values() if s.bands == "computed") == 1
    assert sum(s.stores for s in runs.values()) == 7  # each store once per local day


def test_a_store_added_after_the_days_bands_is_refreshed_from_the_next_chain_day(chain_stores: list[str]) -> None:
    run_refresh(FIRST, 8)
    add_store("late", groups=0, tz="Europe/London")
    history("late", 2)
    assert run_refresh(LONDON_MIDNIGHT, 8).stores == 1  # the day's roster does not list it yet
    assert run_refresh(NEXT_SHANGHAI, 8).stores == 5  # the new day's full pass finds it: Shanghai now...
    nxt = run_refresh(LONDON_MIDNIGHT + timedelta(days=1), 8)
    assert nxt.stores == 2 and StorePolicy.get("late").refreshed_day == "2026-11-24"  # ...London at its 00:05


def test_policy_items_from_the_daily_refresh_count_as_refreshed_for_their_day(chain_stores: list[str]) -> None:
    """Upgrading from the daily run: items with `refreshed_at` and no
    `refreshed_day` are not refreshed a second time that local day."""
    run_refresh(FIRST, 8)
    for store_id in chain_stores:
        StorePolicy(store_id).update(actions=[StorePolicy.refreshed_day.remove()])
    for tz in ("Asia/Shanghai", "Europe/London"):
        InsightsChain(f"zone#{tz}").delete()
    again = run_refresh(FIRST + timedelta(hours=1), 8)
    assert (again.stores, again.already) == (0, 6)
    assert run_refresh(LONDON_MIDNIGHT, 8).stores == 1


def test_the_cli_runs_consecutive_hours(chain_stores: list[str], ddb_env: dict) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "insights", "--at", FIRST.isoformat(),
                           "--hours", "9"], env={**os.environ, **ddb_env}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 9 and "bands=computed zones=Asia/Shanghai,Europe/London" in lines[0]
    assert all("stores=0 " in line and "zones=-" in line for line in lines[1:8])
    assert "stores=1 " in lines[8] and "bands=read zones=Europe/London" in lines[8]


def test_a_failed_store_is_retried_alone_by_the_next_runs(chain_stores: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.insights import refresh

    decide = refresh._decide
    broken = {"sh2"}

    def flaky(store: StoreRecord, *args: object, **kw: object) -> None:
        if store.store_id in broken:
            raise RuntimeError("DynamoDB had a bad minute")
        decide(store, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(refresh, "_decide", flaky)
    first = run_refresh(FIRST, 8)
    assert (first.stores, first.errors) == (6, 1)
    assert chain.read_zones(["Asia/Shanghai"])["Asia/Shanghai"] == chain.Zone("2026-11-23", ("sh2",))
    still = run_refresh(FIRST + timedelta(hours=1), 8)  # still failing: retried alone, still listed
    assert (still.zones, still.stores, still.errors) == ([], 1, 1)
    broken.clear()
    retried = run_refresh(FIRST + timedelta(hours=2), 8)
    # bands item (1) + 2 zone stamps (2) + the store (1) + its policy: none yet (0) + 3 week items (3)
    assert (retried.stores, retried.errors, retried.items_read) == (1, 0, 7)
    assert StorePolicy.get("sh2").refreshed_day == "2026-11-23"
    assert chain.read_zones(["Asia/Shanghai"])["Asia/Shanghai"] == chain.Zone("2026-11-23")
    assert run_refresh(FIRST + timedelta(hours=3), 8).stores == 0
