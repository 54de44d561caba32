"""The hourly refresh's calendar and the bands item's encoding (pure)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from chalicelib.insights.chain import Bands, local_day
from chalicelib.insights.models import InsightsChain
from chalicelib.insights.rules import Numbers, percentile


def test_each_zone_starts_its_day_at_its_own_midnight() -> None:
    at = datetime(2026, 11, 23, 16, 5, tzinfo=UTC)
    assert local_day(at, "Asia/Shanghai") == "2026-11-24"  # 00:05 in Shanghai
    assert local_day(at, "Asia/Urumqi") == "2026-11-23"  # 22:05
    assert local_day(datetime(2026, 11, 23, 18, 5, tzinfo=UTC), "Asia/Urumqi") == "2026-11-24"
    assert local_day(datetime(2026, 11, 23, 16, 4, 30, tzinfo=UTC), "Asia/Shanghai") == "2026-11-24"  # early
    assert local_day(datetime(2026, 11, 23, 16, 0, 30, tzinfo=UTC), "Asia/Shanghai") == "2026-11-23"
    # London: 00:05 UTC in winter, 23:05 UTC the day before in summer (BST)
    assert local_day(datetime(2026, 11, 23, 0, 5, tzinfo=UTC), "Europe/London") == "2026-11-23"
    assert local_day(datetime(2026, 7, 22, 23, 5, tzinfo=UTC), "Europe/London") == "2026-07-23"
    assert local_day(datetime(2026, 7, 22, 22, 5, tzinfo=UTC), "Europe/London") == "2026-07-22"


def test_the_bands_item_round_trips_exactly_and_refuses_to_outgrow_an_item() -> None:
    numbers = Numbers(weeks_with_data=3)
    numbers.orders[10], numbers.spend_fen[10] = 361, 361 * 3150 + 7
    bands = Bands(day="2026-11-24", parts=[[numbers.total_orders, 3, numbers.avg_ticket_fen], [12, 8, 2600]],
                  zones={"Asia/Shanghai": ["s1", "s2"], "Europe/London": ["l1"]})
    back = Bands.from_item(InsightsChain("bands#2026-11-24", day=bands.day, blob=bands.to_blob()))
    assert (back.traffic, back.spend, back.zones) == (bands.traffic, bands.spend, bands.zones)
    assert back.traffic == [1.5, numbers.weekly_orders] and back.spend == [2600.0, 3150.0]
    # the store's own figure ties with its entry in the chain: exactly the middle rank
    assert percentile(numbers.weekly_orders, back.traffic) == 0.75
    rng = random.Random(7)
    chain = Bands(day="d", parts=[[rng.randint(50, 9000), rng.randint(2, 8), rng.randint(1500, 6000)]
                                  for _ in range(7209)],
                  zones={"Asia/Shanghai": [str(1_000_000 + i) for i in range(7209)]})
    assert len(chain.to_blob()) < 80_000  # 7,209 stores
    huge = Bands(day="d", parts=[[rng.randint(50, 9000), 8, rng.randint(1500, 6000)] for _ in range(400_000)])
    with pytest.raises(ValueError, match="limit"):
        huge.to_blob()


def test_a_stores_own_last_figures_stand_in_for_it_in_the_bands_for_48_hours() -> None:
    from datetime import timedelta

    from chalicelib.insights.models import StorePolicy
    from chalicelib.insights.refresh import _last_figures

    now = datetime(2026, 11, 23, 16, 5, tzinfo=UTC)
    facts = {"orders": 420, "spend_fen": 1_260_000, "weeks_with_data": 3, "avg_ticket_fen": 3000}
    policy = StorePolicy("ldn", derived={"facts": facts}, refreshed_at=now - timedelta(hours=16))
    assert _last_figures(policy, now) == [420, 3, 3000]
    policy.refreshed_at = now - timedelta(hours=49)
    assert _last_figures(policy, now) is None  # too old: its week items are read instead
    assert _last_figures(StorePolicy("new"), now) is None
    assert _last_figures(StorePolicy("x", derived={}, refreshed_at=now), now) is None


@pytest.mark.parametrize("hours", ["0", "-3", "two"])
def test_the_cli_refuses_hours_below_one_instead_of_running_once(hours: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from chalicelib.cli import main

    with pytest.raises(SystemExit) as refused:
        main(["insights", "--at", "2026-11-23T00:05:00+00:00", "--hours", hours])
    assert refused.value.code == 2
    assert "argument --hours:" in capsys.readouterr().err
