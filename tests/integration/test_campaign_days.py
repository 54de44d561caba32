"""Whole days of ticks on DynamoDB Local: stores in Asia/Shanghai and
Asia/Urumqi, late ticks, duplicate and concurrent ticks, redelivered
fan-out messages. Post counts are exact."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.campaigns import offers_source, posts
from chalicelib.campaigns.fanout import InProcessQueue
from chalicelib.campaigns.models import PostRecord
from chalicelib.campaigns.offers_source import Offer, OfferSet
from chalicelib.campaigns.store_config import save_store
from chalicelib.campaigns.tick import TickSummary, advance_watermark, run_tick
from chalicelib.campaigns.worker import handle
from chalicelib.delivery.channel import Channel
from chalicelib.delivery.record import RecordChannel, recorded
from chalicelib.groups.models import GroupRecord
from chalicelib.stats.models import StoreDayStats
from chalicelib.stores.schemas import StoreIn

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)  # a Friday
FLASH = Offer("flash1", "午间咖啡立减", "amount_off", 500, remaining=40)
REGULAR = Offer("reg1", "全场满减", "amount_off", 300, min_spend_fen=3000)


def store_in(tz: str = "Asia/Shanghai", member_day: str | None = "MON", idle_hour: str | None = "16:00",
             name: str = "政立路店") -> StoreIn:
    return StoreIn(name=name, city="上海市", lat=31.3, lng=121.5, timezone=tz, member_day=member_day,
                   idle_hour=idle_hour)


def add_store(store_id: str, groups: int = 1, **kw: object) -> None:
    save_store(store_id, store_in(**kw), datetime(2026, 11, 1, tzinfo=UTC))  # type: ignore[arg-type]
    for seq in range(1, groups + 1):
        GroupRecord(store_id, seq, group_id=f"{store_id}.{seq}", capacity=200, member_count=10,
                    created_at=datetime(2026, 11, 1, tzinfo=UTC)).save()


@pytest.fixture
def fake_offers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The coupons seam replaced by a fake (the real one is covered in
    test_campaign_clearance): flash + regular offers, boosted on member day;
    clearance templates recorded as (template_id, stock)."""
    created: list[tuple[str, int]] = []

    def store_offers(store: object, now: datetime) -> OfferSet:
        local = now.astimezone(ZoneInfo(store.timezone))  # type: ignore[attr-defined]
        member_day = store.member_day == ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[local.weekday()]  # type: ignore[attr-defined]
        boosted = [Offer(o.template_id, o.title, o.kind, o.value * 2, o.min_spend_fen, o.remaining, boosted=True)
                   for o in (FLASH, REGULAR)]
        return OfferSet(boosted if member_day else [FLASH, REGULAR], member_day)

    def create_clearance(store: object, template_id: str, title: str, value_fen: int, stock: int,
                         claim_start: datetime, claim_end: datetime, now: datetime) -> str:
        created.append((template_id, stock))
        return template_id

    monkeypatch.setattr(offers_source, "store_offers", store_offers)
    monkeypatch.setattr(offers_source, "create_clearance", create_clearance)
    return created


def sh(hhmm: str, day: date = DAY) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=SHANGHAI)


def tick(at: datetime, channel: Channel | None = None, workers: int = 1) -> TickSummary:
    return run_tick(at, InProcessQueue(at, channel or RecordChannel(), workers=workers))


def every(start: datetime, end: datetime, step: timedelta = timedelta(minutes=5)) -> Iterator[datetime]:
    at = start
    while at <= end:
        yield at
        at += step


def all_posts(store_id: str, day: date = DAY) -> list[PostRecord]:
    return posts.for_day(store_id, day)


def test_a_whole_day_posts_each_slot_once_in_each_store_timezone(ddb_env: dict, fake_offers: list) -> None:
    add_store("sh1", groups=2)
    add_store("ur1", tz="Asia/Urumqi", groups=1)
    advance_watermark(sh("00:00") - timedelta(minutes=5))  # the scheduler has been running all along
    totals: Counter[str] = Counter()
    for at in every(sh("00:00"), sh("23:55")):
        totals.update(tick(at).outcome)
    assert totals["posted"] == 10 and totals["duplicate"] == 0
    sh_posts = {p.slot: p for p in all_posts("sh1")}
    ur_posts = {p.slot: p for p in all_posts("ur1")}
    assert set(sh_posts) == set(ur_posts) == {"morning", "noon", "tea", "clearance", "evening"}
    assert all(p.status == "sent" for p in [*sh_posts.values(), *ur_posts.values()])
    assert sh_posts["morning"].fire_at == sh("08:30")
    assert ur_posts["morning"].fire_at == datetime(2026, 11, 20, 8, 30, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert ur_posts["evening"].fire_at == sh("22:00")
    # every group got every post once (record channel: one message per post per group)
    assert len(recorded("sh1")) == 5 * 2 and len(recorded("ur1")) == 5
    assert "午间咖啡立减" in (sh_posts["noon"].body or "")
    stats = StoreDayStats.get("sh1", DAY.isoformat())
    assert stats.posts_sent == 5 and not stats.posts_failed


def test_duplicate_and_late_ticks_never_post_twice(ddb_env: dict, fake_offers: list) -> None:
    add_store("s1")
    first = tick(sh("14:00"))  # the first tick of the day is late: morning and noon were missed
    assert (first.due, first.outcome["posted"]) == (2, 2)
    again = tick(sh("14:00"))  # a duplicate trigger
    assert again.outcome["posted"] == 0
    earlier = tick(sh("12:00"))  # an out-of-order (older) trigger
    assert earlier.outcome["posted"] == 0
    assert sorted(p.slot for p in all_posts("s1")) == ["morning", "noon"]
    late = tick(sh("16:07"))  # the 15:00 and 16:00 ticks were missed
    assert late.outcome["posted"] == 2
    assert sorted(p.slot for p in all_posts("s1")) == ["clearance", "morning", "noon", "tea"]


def test_an_outage_never_posts_yesterdays_slots_the_next_morning(ddb_env: dict, fake_offers: list) -> None:
    add_store("s1", idle_hour=None)
    assert tick(sh("19:00")).outcome["posted"] == 3  # morning, noon, tea; evening is still ahead
    summary = tick(sh("08:00", DAY + timedelta(days=1)))  # the scheduler was down from 19:00 to 08:00
    assert summary.outcome["posted"] == 0
    assert sorted(p.slot for p in all_posts("s1")) == ["morning", "noon", "tea"]
    assert all_posts("s1", DAY + timedelta(days=1)) == []


def test_a_slot_just_before_midnight_is_caught_by_the_next_days_first_tick(ddb_env: dict, fake_offers: list,
                                                                           api: object, admin: str) -> None:
    add_store("s1", idle_hour=None)
    reply = api.put("/stores/s1/slots", {"slots": [{"slot": "late", "at": "23:58", "kind": "poster"}]},  # type: ignore[attr-defined]
                    as_=admin)
    assert reply.status == 200, reply.body
    tick(sh("23:55"))
    assert tick(sh("00:00", DAY + timedelta(days=1))).outcome["posted"] == 1
    assert [p.post_id for p in all_posts("s1")] == ["2026-11-20.late"]


def test_concurrent_ticks_at_the_same_instant_post_each_slot_once(ddb_env: dict, fake_offers: list) -> None:
    for i in range(12):
        add_store(f"c{i}", idle_hour=None)
    tick(sh("08:00"))
    results: list[TickSummary] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        results.append(tick(sh("08:30"), workers=2))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posted = sum(r.outcome["posted"] for r in results)
    assert posted == 12
    assert sum(r.outcome["duplicate"] for r in results) == sum(r.due for r in results) - 12
    for i in range(12):
        assert [p.slot for p in all_posts(f"c{i}")] == ["morning"]
        assert len(recorded(f"c{i}")) == 1


def test_a_redelivered_fanout_message_is_a_duplicate(ddb_env: dict, fake_offers: list) -> None:
    add_store("s1", idle_hour=None)
    tick(sh("08:00"))
    sent: list[dict] = []

    class Capture:
        def send(self, messages: list[dict]) -> Counter[str]:
            sent.extend(messages)
            return Counter({"enqueued": len(messages)})

    summary = run_tick(sh("08:30"), Capture())
    assert summary.due == 1 and len(sent) == 1
    now = sh("08:30") + timedelta(seconds=3)
    assert handle(sent[0], now, RecordChannel())["posted"] == 1
    assert handle(sent[0], now, RecordChannel())["duplicate"] == 1  # SQS redelivery
    assert len(all_posts("s1")) == 1 and len(recorded("s1")) == 1


def test_member_day_posts_carry_boosted_offers_and_say_so(ddb_env: dict, fake_offers: list) -> None:
    add_store("fri", member_day="FRI", idle_hour=None)
    add_store("mon", member_day="MON", idle_hour=None)
    tick(sh("11:55"))
    tick(sh("12:00"))
    fri = {p.slot: p for p in all_posts("fri")}["noon"]
    mon = {p.slot: p for p in all_posts("mon")}["noon"]
    assert fri.member_day == "1" and "会员日" in (fri.body or "")
    assert [o.boosted for o in fri.offers or []] == ["1"]  # the flash coupon, boosted
    assert fri.offers[0].value == 1000  # type: ignore[index]
    assert mon.member_day is None and "会员日" not in (mon.body or "")
    assert mon.offers[0].value == 500  # type: ignore[index]


def test_plan_and_timezone_changes_reindex_and_stale_entries_are_dropped(ddb_env: dict, fake_offers: list) -> None:
    add_store("s1", idle_hour=None)
    tick(sh("07:00"))
    # The store moves to Urumqi time: 08:30 local is now 10:30 Shanghai.
    save_store("s1", store_in(tz="Asia/Urumqi", idle_hour=None), datetime(2026, 11, 20, tzinfo=UTC))
    summary = tick(sh("08:30"))
    assert summary.outcome["posted"] == 0 and summary.outcome["stale"] == 1
    assert tick(sh("08:35")).due == 0  # the stale entry was deleted
    assert tick(sh("10:30")).outcome["posted"] == 1
    assert all_posts("s1")[0].fire_at == sh("10:30")
