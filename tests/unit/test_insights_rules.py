"""Store policy rules, RFM, opening hours and the week calendar (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.campaigns.slots import CLEARANCE, DEFAULT_PLAN, SlotSpec, due_fire, effective_plan
from chalicelib.insights import rules
from chalicelib.insights.rules import Insight, Numbers
from chalicelib.insights.weeks import hour_of_week, slot_of, week_key, window
from chalicelib.members import rfm
from chalicelib.stores import hours
from chalicelib.stores.csv_import import hours_from_csv

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # a Friday, 12:00 in Shanghai


def numbers(per_hour: dict[int, int], weeks: int = 8, ticket: int = 3000) -> Numbers:
    n = Numbers(weeks_with_data=weeks)
    for h, count in per_hour.items():
        n.orders[h] = count
        n.spend_fen[h] = count * ticket
    return n


def flat(level: int = 2) -> dict[int, int]:
    return {d * 24 + h: level for d in range(7) for h in range(7, 22)}


# -- tiers by quantile bands against the chain

def test_percentile_bands_put_ties_together_and_split_30_40_30() -> None:
    chain = [float(v) for v in range(10)]
    assert [rules.band(v, chain) for v in chain] == ["low"] * 3 + ["medium"] * 4 + ["high"] * 3
    assert rules.band(5.0, [5.0] * 6) == "medium"


def test_traffic_tier_needs_data_and_a_chain_big_enough() -> None:
    busy = numbers(flat(10))
    chain = sorted([10.0, 20.0, 30.0, 40.0, 50.0, busy.weekly_orders])
    assert rules.tier(busy, "weekly_orders", chain).value == "high"
    assert rules.tier(busy, "weekly_orders", chain[:3]).enough_data is False
    assert "too little data" in rules.tier(numbers({0: 3}), "weekly_orders", chain).reason


def test_spend_tier_is_the_average_ticket_against_the_chain() -> None:
    cheap = numbers(flat(), ticket=1500)
    chain = sorted([1500.0, 3000.0, 3200.0, 4000.0, 5000.0, 6000.0])
    result = rules.tier(cheap, "avg_ticket_fen", chain)
    assert (result.value, result.figures["avg_ticket_fen"]) == ("low", 1500)


# -- member day on the peak weekday

def test_member_day_goes_on_the_busiest_weekday() -> None:
    shape = flat()
    for h in range(7, 22):
        shape[4 * 24 + h] = 6  # Friday
    insight = rules.peak_weekday(numbers(shape))
    assert insight.value == "FRI" and insight.figures["orders_by_weekday"]["FRI"] == 90


def test_a_weekday_tie_goes_to_the_earlier_day_and_little_data_decides_nothing() -> None:
    assert rules.peak_weekday(numbers(flat())).value == "MON"
    thin = rules.peak_weekday(numbers({4 * 24 + 9: 10}, weeks=1))
    assert (thin.value, thin.enough_data) == (None, False)


# -- idle hour inside opening hours and the afternoon window

def test_idle_hour_is_the_quietest_open_afternoon_hour() -> None:
    shape = flat(4)
    for d in range(7):
        shape[d * 24 + 15] = 1
    assert rules.idle_hour(numbers(shape), None, None).value == "15:00"


def test_idle_hour_respects_opening_hours_and_the_configured_window() -> None:
    shape = flat(4)
    for d in range(7):
        shape[d * 24 + 16] = 1
    early_close = hours.every_day((7 * 60, 16 * 60 + 30))  # closes 16:30: 16:00 is not a whole open hour
    insight = rules.idle_hour(numbers(shape), early_close, None)
    assert insight.value == "14:00" and set(insight.figures["orders_by_hour"]) == {"14:00", "15:00"}
    assert rules.idle_hour(numbers(shape), None, "10:00-12:00").value == "10:00"
    closed_afternoon = hours.every_day((18 * 60, 2 * 60))
    assert rules.idle_hour(numbers(shape), closed_afternoon, None).enough_data is False


def test_target_pins_win_then_data_then_the_current_value() -> None:
    good, thin = Insight("FRI", True, "", {}), Insight(None, False, "too little", {})
    assert rules.target("MON", "WED", True, good) == "WED"
    assert rules.target("MON", None, False, good) == "FRI"
    assert rules.target("MON", None, False, thin) == "MON"
    assert rules.effective_from(date(2026, 12, 31)) == "2027-01-01"


# -- RFM

def test_rfm_scores_and_segments() -> None:
    assert rfm.score(None, 0, 0, 0, NOW) == rfm.Rfm(0, 0, 0, "new")
    champion = rfm.score(NOW - timedelta(days=2), 8, 120_000, 30, NOW)
    assert champion == rfm.Rfm(5, 5, 5, "champion")
    assert rfm.score(NOW - timedelta(days=20), 4, 30_000, 4, NOW).segment == "loyal"
    assert rfm.score(NOW - timedelta(days=3), 1, 3_000, 1, NOW).segment == "promising"
    assert rfm.score(NOW - timedelta(days=45), 0, 60_000, 20, NOW).segment == "at_risk"
    assert rfm.score(NOW - timedelta(days=90), 0, 2_000, 1, NOW).segment == "hibernating"
    assert rfm.score(NOW - timedelta(days=25), 2, 10_000, 3, NOW).segment == "needs_attention"
    assert [rfm.recency_score(NOW - timedelta(days=d), NOW) for d in (7, 8, 14, 30, 60, 61)] == [5, 4, 4, 3, 2, 1]
    assert [rfm.frequency_score(n) for n in (0, 1, 2, 4, 8)] == [1, 2, 3, 4, 5]
    assert [rfm.monetary_score(f) for f in (0, 5_000, 20_000, 50_000, 100_000)] == [1, 2, 3, 4, 5]


# -- opening hours, incl. overnight and UTC+5/+6/+8 stores

def test_hours_open_close_and_overnight() -> None:
    week = {"FRI": [(18 * 60, 2 * 60)], "SAT": [(10 * 60, 22 * 60)]}
    fri = datetime(2026, 11, 20, 23, 0)
    assert hours.open_at_local(week, fri)
    assert hours.open_at_local(week, fri + timedelta(hours=2, minutes=59))  # SAT 01:59 from FRI's night
    assert not hours.open_at_local(week, fri + timedelta(hours=3))  # SAT 02:00
    assert not hours.open_at_local(week, fri + timedelta(hours=10, minutes=59))
    assert hours.open_at_local(week, fri + timedelta(hours=11))  # SAT 10:00
    assert not hours.open_at_local(week, datetime(2026, 11, 19, 23, 0))  # THU: closed
    assert hours.open_at_local(hours.every_day((0, 0)), fri) and hours.open_at_local(None, fri)


@pytest.mark.parametrize(("tz", "utc_hour", "is_open"), [
    ("Asia/Shanghai", 1, False),  # 09:00 local, opens 10:00
    ("Asia/Shanghai", 2, True),  # 10:00
    ("Asia/Urumqi", 3, False),  # UTC+6: 09:00
    ("Asia/Urumqi", 4, True),
    ("Asia/Tashkent", 5, True),  # UTC+5: 10:00
    ("Asia/Tashkent", 17, False),  # 22:00: closed
])
def test_hours_are_checked_on_the_store_clock(tz: str, utc_hour: int, is_open: bool) -> None:
    week = hours.every_day((10 * 60, 22 * 60))
    assert hours.open_at(week, datetime(2026, 11, 20, utc_hour, 0, tzinfo=UTC), tz) is is_open


def test_hours_round_trip_and_csv_hours() -> None:
    week = {"MON": [(7 * 60, 22 * 60)], "FRI": [(18 * 60, 0)]}
    assert hours.loads(hours.dumps(week)) == {**{d: [] for d in ("TUE", "WED", "THU", "SAT", "SUN")}, **week}
    assert hours_from_csv("07:00:00", "00:00:00") == {d: ["07:00-00:00"] for d in
                                                      ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")}
    assert hours_from_csv("", "22:00:00") is None


# -- slots fitted to opening hours

def test_a_10_oclock_store_moves_its_morning_post_to_opening_and_drops_what_is_after_closing() -> None:
    plan = effective_plan(None, "16:00", hours.every_day((10 * 60, 19 * 60)))
    assert [(s.slot, s.at) for s in plan] == [("morning", "10:00"), ("noon", "12:00"), ("tea", "15:00"),
                                              (CLEARANCE, "16:00")]
    # clearance only while open (never moved); a slot at closing time is after closing
    plan = effective_plan(None, "21:00", hours.every_day((7 * 60, 20 * 60)))
    assert [(s.slot, s.at) for s in plan] == [("morning", "08:30"), ("noon", "12:00"), ("tea", "15:00")]


def test_a_post_more_than_3_hours_before_opening_is_dropped_and_never_overtakes_another() -> None:
    late = effective_plan(None, None, hours.every_day((12 * 60 + 30, 22 * 60)))
    assert [(s.slot, s.at) for s in late] == [("noon", "12:30"), ("tea", "15:00"), ("evening", "20:00")]
    custom = [SlotSpec("early", "09:00", "poster"), SlotSpec("brunch", "10:30", "flash_coupon")]
    assert [(s.slot, s.at) for s in effective_plan(custom, None, hours.every_day((11 * 60, 22 * 60)))] == [
        ("brunch", "11:00")]  # early would pass brunch on its way to 11:00: dropped


def test_a_slot_fires_only_on_the_weekdays_the_store_is_open_then() -> None:
    week = {d: [(7 * 60, 22 * 60)] for d in ("MON", "TUE", "WED", "THU", "FRI")}
    morning = next(s for s in effective_plan(None, None, week) if s.slot == "morning")
    assert morning.days == frozenset({"MON", "TUE", "WED", "THU", "FRI"})
    fri = datetime(2026, 11, 20, 0, 31, tzinfo=UTC)  # 08:31 Shanghai, Friday
    sat = fri + timedelta(days=1)
    assert due_fire(morning, "Asia/Shanghai", fri - timedelta(minutes=5), fri) is not None
    assert due_fire(morning, "Asia/Shanghai", sat - timedelta(minutes=5), sat) is None
    assert effective_plan(None, None, None) == list(DEFAULT_PLAN)
    assert SlotSpec("x", "08:00", "poster").days is None


# -- the week calendar

def test_week_keys_hours_of_week_and_windows() -> None:
    assert week_key(date(2026, 11, 20)) == "2026-W47" and week_key(date(2027, 1, 1)) == "2026-W53"
    assert hour_of_week(datetime(2026, 11, 20, 15, 0)) == 4 * 24 + 15
    assert slot_of(datetime(2026, 11, 20, 16, 30, tzinfo=UTC), "Asia/Shanghai") == ("2026-W47", 5 * 24)
    assert slot_of(datetime(2026, 11, 20, 16, 30, tzinfo=UTC), "Asia/Tashkent") == ("2026-W47", 4 * 24 + 21)
    assert window(NOW, "Asia/Shanghai", 8) == ("2026-W39", "2026-W46")


# -- 千人千面 ranking

def test_offer_ranking_reasons_by_tier_segment_and_holdings() -> None:
    from chalicelib.coupons.audience import Candidate, MemberContext, rank

    offers = [Candidate("cheap", "amount_off", 300, 0, False, 0), Candidate("big", "amount_off", 2000, 5000, False, 0),
              Candidate("boost", "amount_off", 1000, 3000, True, 0), Candidate("clear", "clearance", 50, 0, False, 0),
              Candidate("seg", "amount_off", 500, 2000, False, 0, audience_segments=("promising",))]
    new = MemberContext("new", rfm.Rfm(0, 0, 0, "new"))
    loyal = MemberContext("loyal", rfm.Rfm(5, 4, 3, "champion"))
    lapsed = MemberContext("at_risk", rfm.Rfm(2, 1, 4, "at_risk"))
    promising = MemberContext("active", rfm.Rfm(5, 2, 2, "promising"))
    assert rank(offers, new)[0] == (offers[0], "first-order coupon for new members")
    assert rank(offers, loyal)[0] == (offers[2], "member-day boost for loyal members")
    assert rank(offers, lapsed)[0] == (offers[1], "win-back: we miss you")
    assert rank(offers, promising)[0] == (offers[4], "picked for promising members")
    assert rank(offers, promising)[1] == (offers[2], "boosted today: member day")
    held = [Candidate("a", "amount_off", 900, 0, True, 1), Candidate("b", "amount_off", 100, 0, True, 0)]
    assert [(c.template_id, r) for c, r in rank(held, promising)] == [
        ("b", "boosted today: member day"), ("a", "boosted today: member day; you already hold 1")]
    assert rank([], new) == []


# -- demo history shapes

def test_demo_shapes_office_weekday_mornings_mall_weekend_afternoons() -> None:
    from chalicelib.insights.demo import dip_hour, hour_weights, kind_of

    office_mon, office_sat = hour_weights("office", 0, 15), hour_weights("office", 5, 15)
    assert max(range(24), key=lambda h: office_mon[h]) in (8, 9) and sum(office_mon) > 2 * sum(office_sat)
    mall_sat, mall_mon = hour_weights("mall", 5, 15), hour_weights("mall", 0, 15)
    assert 14 <= max(range(24), key=lambda h: mall_sat[h]) <= 19 and sum(mall_sat) > 2 * sum(mall_mon)
    community = hour_weights("community", 2, 16)
    assert community[16] < min(community[14], community[15])  # the store's afternoon dip
    assert kind_of("x", "国贸大厦店") == "office" and kind_of("x", "万达广场店") == "mall"
    assert dip_hour("29329") in (14, 15, 16) and dip_hour("29329") == dip_hour("29329")
