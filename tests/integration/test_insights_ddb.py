"""Store insights end to end on DynamoDB Local: payments -> week facts ->
the daily refresh -> store fields from the next local day; pins; refunds;
opening hours gating a whole simulated day of posts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.clock import FixedClock, set_clock
from chalicelib.insights.models import StoreWeek
from chalicelib.insights.weeks import orders_attr, slot_of
from chalicelib.payments.schemas import PaymentIn
from chalicelib.payments.service import record_payment
from tests.api import Api, token
from tests.integration.test_campaign_days import DAY, add_store, all_posts, every, fake_offers, sh, tick  # noqa: F401

pytestmark = pytest.mark.integration

SHOP = {"name": "政立路店", "city": "上海市", "lat": 31.3, "lng": 121.5, "member_day": "MON", "idle_hour": "16:00",
        "hours": {d: ["07:00-22:00"] for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")}}
REFRESH_AT = "2026-11-23T00:05:00+08:00"  # a Monday, just after local midnight
NEXT_DAY = "2026-11-24T00:05:00+08:00"


def friday_peak_history(store_id: str) -> None:
    """Two full weeks (W46, W47): one non-member order an hour from 10:00
    to 20:00 except 15:00 (the trough), three an hour on Fridays."""
    monday = datetime(2026, 11, 9, tzinfo=sh("00:00").tzinfo)
    n = 0
    for day in range(14):
        for hour in range(10, 21):
            if hour == 15:
                continue
            for _ in range(3 if day % 7 == 4 else 1):
                n += 1
                paid = monday + timedelta(days=day, hours=hour, minutes=n % 50)
                record_payment(PaymentIn(payment_id=f"{store_id}-{n}", store_id=store_id, amount_fen=3000,
                                         paid_at=paid), paid)


def refresh(ddb_env: dict, at: str) -> str:
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "insights", "--at", at],
                          env={**os.environ, **ddb_env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_friday_peak_and_1500_trough_become_member_day_and_idle_hour_from_the_next_day(
        api: Api, admin: str, ddb_env: dict) -> None:
    set_clock(FixedClock(sh("10:00", DAY)))  # the stores are saved before the refreshes, not at today's wall time
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    assert api.put("/stores/s2", SHOP, as_=admin).status == 200
    set_clock(FixedClock(sh("10:00", DAY + timedelta(days=2))))  # Sunday 22nd: the pin counts from Monday
    pinned = api.put("/stores/s2/policy", {"pin": {"member_day": "WED"}}, as_=admin)
    assert pinned.status == 200 and pinned.body["fields"]["member_day"]["mode"] == "pinned"
    friday_peak_history("s1")
    friday_peak_history("s2")

    line = refresh(ddb_env, REFRESH_AT)
    # 2 stores, 2 week items each, 1 policy item (s2, pinned); never a payment
    assert "stores=2 items_read=7 " in line and "scheduled=3 " in line
    view = api.get("/stores/s1/insights", as_=token("staff", "clerk", store_id="s1")).body
    day, idle = view["fields"]["member_day"], view["fields"]["idle_hour"]
    assert (day["derived"], day["mode"], day["current"]) == ("FRI", "auto", "MON")  # not before the next day
    assert day["pending"]["value"] == "FRI" and day["pending"]["effective_from"] == "2026-11-24"
    assert day["figures"]["orders_by_weekday"]["FRI"] == 60
    assert (idle["derived"], idle["figures"]["orders_by_hour"]["15:00"]) == ("15:00", 0)
    assert view["fields"]["traffic_tier"]["enough_data"] is False  # a chain of two stores forms no bands
    assert view["fields"]["traffic_tier"]["current"] == "medium"
    assert view["facts"]["orders"] == 2 * (6 * 10 + 30)

    refresh(ddb_env, NEXT_DAY)
    s1 = api.get("/stores/s1", as_=admin).body
    assert (s1["member_day"], s1["idle_hour"]) == ("FRI", "15:00")
    s2 = api.get("/stores/s2", as_=admin).body
    assert (s2["member_day"], s2["idle_hour"]) == ("WED", "15:00")  # the pin held; idle hour follows the data
    view = api.get("/stores/s2/insights", as_=admin).body
    assert view["fields"]["member_day"]["derived"] == "FRI" and view["fields"]["member_day"]["pending"] is None
    applied = [(a["field"], a["old"], a["new"], a["by"]) for a in view["audit"] if a["what"] == "applied"]
    assert ("member_day", "MON", "WED", "admin:hq-ops") in applied
    assert any(a["what"] == "pin" and a["by"] == "admin:hq-ops" for a in view["audit"])
    # the clearance slot moved with the idle hour
    slots = {s["slot"]: s["at"] for s in api.get("/stores/s1/slots", as_=admin).body["slots"]}
    assert slots["clearance"] == "15:00"
    assert api.get("/stores/s1/insights", as_=token("staff", "clerk", store_id="s2")).status == 403


def test_a_refund_moves_a_loyal_member_back_to_active_and_the_store_counters_back(api: Api, admin: str) -> None:
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    assert api.put("/members/me", {"nickname": "阿明"}, as_=token("member", "m1")).status == 200
    now = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    for i in range(4):
        body = {"payment_id": f"p{i}", "member_id": "m1", "store_id": "s1", "amount_fen": 2500,
                "paid_at": (now - timedelta(days=i)).isoformat()}
        assert api.post("/payments", body, as_=admin).status == 200
    assert api.get("/members/me", as_=token("member", "m1")).body["tier"] == "loyal"
    week, hour = slot_of(now, "Asia/Shanghai")
    assert int(getattr(StoreWeek.get("s1", week), orders_attr(hour))) == 1
    reply = api.post("/payments/p0/refund", {}, as_=token("staff", "pos", store_id="s1"))
    assert reply.status == 200 and reply.body["tier"] == "active"
    me = api.get("/members/me", as_=token("member", "m1")).body
    assert (me["tier"], me["orders_total"], me["spend_total_fen"]) == ("active", 3, 7500)
    assert int(getattr(StoreWeek.get("s1", week), orders_attr(hour)) or 0) == 0
    assert api.post("/payments/p0/refund", {}, as_=admin).body["duplicate"] is True
    assert api.get("/members/me", as_=token("member", "m1")).body["orders_total"] == 3


@pytest.mark.usefixtures("fake_offers")
def test_a_store_opening_at_10_never_posts_before_10_across_a_simulated_day(ddb_env: dict) -> None:
    from chalicelib.campaigns.store_config import save_hours
    from chalicelib.campaigns.tick import advance_watermark

    add_store("late", groups=1)
    save_hours("late", {d: ["10:00-19:00"] for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")}, None,
              datetime(2026, 11, 1, tzinfo=UTC))
    advance_watermark(sh("00:00") - timedelta(minutes=5))
    totals: Counter[str] = Counter()
    for at in every(sh("00:00"), sh("23:55")):
        totals.update(tick(at).outcome)
    fired = {p.slot: p.fire_at for p in all_posts("late", DAY)}
    assert fired == {"morning": sh("10:00"), "noon": sh("12:00"), "tea": sh("15:00"), "clearance": sh("16:00")}
    assert all(at >= sh("10:00") for at in fired.values()) and totals["duplicate"] == 0


def test_the_refresh_touches_only_what_its_role_grants_and_never_a_payment(api: Api, admin: str,
                                                                          ddb_env: dict) -> None:
    from chalicelib.insights.refresh import run_refresh
    from tests.integration.test_function_access import granted, recording

    set_clock(FixedClock(sh("10:00", DAY)))  # the store is saved before the refreshes, not at today's wall time
    assert api.put("/stores/s1", SHOP, as_=admin).status == 200
    set_clock(FixedClock(sh("10:00", DAY + timedelta(days=2))))
    assert api.put("/stores/s1/policy", {"pin": {"traffic_tier": "high"}}, as_=admin).status == 200
    friday_peak_history("s1")
    prefix = ddb_env["STORELOOP_TABLE_PREFIX"]
    used: set[tuple[str, str]] = set()
    for at in (sh("00:05", DAY + timedelta(days=3)), sh("00:05", DAY + timedelta(days=4))):
        with recording(prefix) as calls:
            summary = run_refresh(at, 8)
        used |= calls.used
        assert summary.errors == 0
    assert api.get("/stores/s1", as_=admin).body["idle_hour"] == "15:00"  # applied: slots re-filed too
    assert not any(table in ("payments", "refunds") for table, _ in used)
    missing = sorted(call for call in used if not granted("insights_refresh", *call))
    assert not missing, f"insights_refresh needs {missing}"
