"""Store policy rules (pure): what a store's numbers say its traffic tier,
spend tier, member day and idle hour should be, with the figures behind
each, and what a refresh does with that (auto / pinned, next local day).

Inputs are plain values: a store's hour-of-week orders and spend summed
over the window (`Numbers`), its opening hours and afternoon window, the
chain's figures. See docs/insights.md for the sources of each rule."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from chalicelib.insights.weeks import HOURS_PER_WEEK
from chalicelib.stores import hours as store_hours
from chalicelib.types import WEEKDAYS

FIELDS: tuple[str, ...] = ("traffic_tier", "spend_tier", "member_day", "idle_hour")
MIN_ORDERS = 50  # in the window: below this a store's shape is noise
MIN_WEEKS = 2  # weeks with any order: one week is a coincidence, not a pattern
MIN_CHAIN = 5  # stores with enough data before bands against the chain mean anything
HIGH_FROM, LOW_BELOW = 0.7, 0.3  # quantile bands: top 30 % high, bottom 30 % low
DEFAULT_AFTERNOON = (14 * 60, 17 * 60)


def enough(orders: int, weeks_with_data: int) -> bool:
    return orders >= MIN_ORDERS and weeks_with_data >= MIN_WEEKS


@dataclass
class Numbers:
    """A store's facts over the window (sums of its weekly items)."""

    orders: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    spend_fen: list[int] = field(default_factory=lambda: [0] * HOURS_PER_WEEK)
    weeks_with_data: int = 0
    distinct_members: int = 0
    anonymous_orders: int = 0

    @property
    def total_orders(self) -> int:
        return sum(self.orders)

    @property
    def total_spend_fen(self) -> int:
        return sum(self.spend_fen)

    @property
    def weekly_orders(self) -> float:
        return self.total_orders / self.weeks_with_data if self.weeks_with_data else 0.0

    @property
    def avg_ticket_fen(self) -> int:
        return self.total_spend_fen // self.total_orders if self.total_orders else 0

    def enough(self) -> bool:
        return enough(self.total_orders, self.weeks_with_data)

    def figures(self) -> dict[str, Any]:
        return {"orders": self.total_orders, "spend_fen": self.total_spend_fen,
                "weeks_with_data": self.weeks_with_data, "weekly_orders": round(self.weekly_orders, 1),
                "avg_ticket_fen": self.avg_ticket_fen, "distinct_members": self.distinct_members,
                "non_member_orders": self.anonymous_orders}


@dataclass(frozen=True)
class Insight:
    value: str | None
    enough_data: bool
    reason: str
    figures: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "enough_data": self.enough_data, "reason": self.reason,
                "figures": self.figures}


def _short(numbers: Numbers) -> str:
    return (f"too little data: {numbers.total_orders} orders in {numbers.weeks_with_data} week(s) "
            f"(needs {MIN_ORDERS} orders over {MIN_WEEKS} weeks)")


def percentile(value: float, chain: list[float]) -> float:
    """Mid-rank percentile of `value` in the sorted `chain` (0..1): ties share
    their middle rank, so equal stores always land in the same band."""
    below, upto = bisect_left(chain, value), bisect_right(chain, value)
    return (below + (upto - below) / 2) / len(chain)


def band(value: float, chain: list[float]) -> str:
    p = percentile(value, chain)
    return "high" if p >= HIGH_FROM else "low" if p < LOW_BELOW else "medium"


def tier(numbers: Numbers, metric: str, chain: list[float]) -> Insight:
    """`metric`: weekly_orders (traffic) or avg_ticket_fen (spend). `chain`:
    sorted values of the stores with enough data."""
    value = float(getattr(numbers, metric))
    figures: dict[str, Any] = {metric: round(value, 1), "chain_stores": len(chain)}
    if not numbers.enough():
        return Insight(None, False, _short(numbers), figures)
    if len(chain) < MIN_CHAIN:
        return Insight(None, False, f"only {len(chain)} store(s) with enough data in the chain "
                                    f"(needs {MIN_CHAIN} to form bands)", figures)
    p = percentile(value, chain)
    q30, q70 = _quantile(chain, LOW_BELOW), _quantile(chain, HIGH_FROM)
    figures.update(percentile=round(p, 3), chain_p30=round(q30, 1), chain_p70=round(q70, 1))
    result = band(value, chain)
    return Insight(result, True, f"{metric} {value:.0f} is at the chain's {p:.0%} "
                                 f"(low < 30 % <= medium < 70 % <= high)", figures)


def _quantile(chain: list[float], q: float) -> float:
    return chain[min(len(chain) - 1, int(q * len(chain)))]


def by_weekday(numbers: Numbers) -> list[int]:
    return [sum(numbers.orders[d * 24:(d + 1) * 24]) for d in range(7)]


def peak_weekday(numbers: Numbers) -> Insight:
    """The member day goes on the busiest weekday (orders summed over the
    window; ties: the earlier weekday)."""
    days = by_weekday(numbers)
    figures: dict[str, Any] = {"orders_by_weekday": dict(zip(WEEKDAYS, days, strict=True))}
    if not numbers.enough():
        return Insight(None, False, _short(numbers), figures)
    peak = max(range(7), key=lambda d: (days[d], -d))
    share = days[peak] / max(1, sum(days))
    figures["peak_share"] = round(share, 3)
    return Insight(WEEKDAYS[peak], True, f"{WEEKDAYS[peak]} has the most orders ({days[peak]}, "
                                         f"{share:.0%} of the week)", figures)


def parse_window(text: str | None) -> tuple[int, int]:
    if not text:
        return DEFAULT_AFTERNOON
    start, end = store_hours.parse_interval(text)
    return start, end


def idle_hour(numbers: Numbers, week_hours: store_hours.WeekHours | None, window: str | None) -> Insight:
    """The quietest whole hour inside the afternoon window (default
    14:00-17:00) in which the store is open on every day it opens at all;
    orders summed over all weekdays (ties: the earlier hour)."""
    start, end = parse_window(window)
    open_days = [d for d in WEEKDAYS if week_hours is None or week_hours.get(d)]
    candidates = [h for h in range(24) if start <= h * 60 and (h + 1) * 60 <= end
                  and all(store_hours.open_whole_hour(week_hours, d, h) for d in open_days)]
    traffic = {h: sum(numbers.orders[d * 24 + h] for d in range(7)) for h in candidates}
    figures: dict[str, Any] = {"window": f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}",
                               "orders_by_hour": {f"{h:02d}:00": n for h, n in traffic.items()}}
    if not candidates:
        return Insight(None, False, "no whole hour of the afternoon window is inside the opening hours", figures)
    if not numbers.enough():
        return Insight(None, False, _short(numbers), figures)
    quiet = min(candidates, key=lambda h: (traffic[h], h))
    return Insight(f"{quiet:02d}:00", True, f"{quiet:02d}:00 is the quietest open afternoon hour "
                                            f"({traffic[quiet]} orders)", figures)


def derive(numbers: Numbers, week_hours: store_hours.WeekHours | None, window: str | None,
           traffic_chain: list[float], spend_chain: list[float]) -> dict[str, Insight]:
    return {
        "traffic_tier": tier(numbers, "weekly_orders", traffic_chain),
        "spend_tier": tier(numbers, "avg_ticket_fen", spend_chain),
        "member_day": peak_weekday(numbers),
        "idle_hour": idle_hour(numbers, week_hours, window),
    }


def target(current: str | None, pinned: str | None, is_pinned: bool, insight: Insight) -> str | None:
    """What the store field should hold: the pin; else the insight when it
    has enough data; else the current value (too little data: keep)."""
    if is_pinned:
        return pinned
    if insight.enough_data and insight.value is not None:
        return insight.value
    return current


def effective_from(local_today: date) -> str:
    """Changes start on the store's next local day (today's posts, coupons and
    member-day boosts keep the rules they started the day with)."""
    return (local_today + timedelta(days=1)).isoformat()
