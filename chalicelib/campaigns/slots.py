"""The slot calendar (pure): which slots a store has, when each fires in UTC,
which UTC minute-of-day buckets index it, and whether it is due in a tick's
window. No I/O; every function takes plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from chalicelib.stores.hours import WeekHours, open_days_at, typical_interval
from chalicelib.types import WEEKDAYS, hhmm_minutes

PLAN_KINDS: tuple[str, ...] = ("poster", "flash_coupon", "afternoon_promo", "ecommerce")
CLEARANCE = "clearance"  # the idle-hour slot: its name and kind, derived from store.idle_hour
MINUTES_PER_DAY = 24 * 60
# A slot missed by a late tick still fires while it is the same local day;
# across local midnight only this much lateness is tolerated (a 23:58 slot
# caught by the 00:00 tick), so an outage never posts yesterday's evening
# promotion the next morning.
MIDNIGHT_GRACE = timedelta(minutes=30)
MAX_WINDOW = timedelta(hours=24)
# A slot planned before the store opens moves to the opening time when the
# store opens at most this long after it (08:30 -> 10:00); further away, the
# post would no longer be what was planned (a morning poster at 18:00), so
# it is dropped.
MAX_MOVE = timedelta(hours=3)


@dataclass(frozen=True)
class SlotSpec:
    slot: str
    at: str  # "HH:MM", store-local
    kind: str
    # local weekdays it fires on: those the store is open at `at` (None = every day)
    days: frozenset[str] | None = None


DEFAULT_PLAN: tuple[SlotSpec, ...] = (
    SlotSpec("morning", "08:30", "poster"),
    SlotSpec("noon", "12:00", "flash_coupon"),
    SlotSpec("tea", "15:00", "afternoon_promo"),
    SlotSpec("evening", "20:00", "ecommerce"),
)


def effective_plan(custom: list[SlotSpec] | None, idle_hour: str | None,
                   hours: WeekHours | None = None) -> list[SlotSpec]:
    """The store's own plan (or the default) plus the idle-hour clearance
    slot, fitted to its opening hours (`fit_to_hours`)."""
    plan = list(custom) if custom else list(DEFAULT_PLAN)
    if idle_hour:
        plan.append(SlotSpec(CLEARANCE, idle_hour, CLEARANCE))
    return plan if hours is None else fit_to_hours(plan, hours)


def fit_to_hours(plan: list[SlotSpec], hours: WeekHours) -> list[SlotSpec]:
    """Slots never fire while the store is closed:

    - a slot inside the hours of some weekday fires on those weekdays only;
    - a slot before opening moves to the opening time of the store's usual
      day (the most common opening interval), if that is at most MAX_MOVE
      later and no other slot of the plan fires between the planned time
      and the opening (it would reorder or merge posts); otherwise dropped;
    - a slot after closing is dropped; so is a clearance slot outside the
      hours (clearance only while open; it is never moved).
    """
    typical = typical_interval(hours)
    times = sorted(hhmm_minutes(s.at) for s in plan)
    fitted: list[SlotSpec] = []
    for spec in plan:
        minute = hhmm_minutes(spec.at)
        days = open_days_at(hours, minute)
        if days:
            fitted.append(SlotSpec(spec.slot, spec.at, spec.kind, days))
            continue
        if spec.kind == CLEARANCE or typical is None:
            continue
        opening = typical[0]
        delay = opening - minute
        if not 0 < delay <= MAX_MOVE.total_seconds() // 60:
            continue
        if any(minute < other <= opening for other in times if other != minute):
            continue
        moved = f"{opening // 60:02d}:{opening % 60:02d}"
        fitted.append(SlotSpec(spec.slot, moved, spec.kind, open_days_at(hours, opening)))
    return fitted


def fire_at(local_date: date, at: str, tz: str) -> datetime:
    """The UTC instant a slot fires on a local date. In a DST gap the wall
    time does not exist; zoneinfo maps it forward, which is what a clock on
    the wall would do."""
    minutes = hhmm_minutes(at)
    local = datetime.combine(local_date, time(minutes // 60, minutes % 60), tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


def minute_of_day(instant: datetime) -> int:
    utc = instant.astimezone(UTC)
    return utc.hour * 60 + utc.minute


def bucket_name(minute: int) -> str:
    return f"{minute:04d}"


@lru_cache(maxsize=4096)
def utc_buckets(at: str, tz: str, year: int) -> frozenset[int]:
    """Every UTC minute-of-day a local `at` can fire at during `year` (and
    the next). Zones without DST (Asia/Shanghai, Asia/Urumqi) give one bucket;
    DST zones give one per offset, so the index holds the slot under each
    and the due check picks the real instant per date."""
    minutes = set()
    for y in (year, year + 1):
        for month in range(1, 13):
            for day in (1, 8, 15, 22):
                minutes.add(minute_of_day(fire_at(date(y, month, day), at, tz)))
    return frozenset(minutes)


def window_start(now: datetime, watermark: datetime | None, trigger_period: timedelta) -> datetime:
    """Where a tick at `now` starts reading: back to the last processed
    instant (a late tick catches up), always at least one trigger period (a
    duplicate trigger re-reads a little and the post ledger drops repeats),
    never more than a day."""
    start = now - MAX_WINDOW if watermark is None else min(watermark, now - trigger_period)
    return max(start, now - MAX_WINDOW)


def window_buckets(start: datetime, end: datetime) -> list[int]:
    """UTC minute-of-day buckets of the whole minutes in (start, end]."""
    first = _floor_minute(start) + timedelta(minutes=1)
    last = _floor_minute(end)
    count = int((last - first).total_seconds() // 60) + 1
    if count <= 0:
        return []
    return [minute_of_day(first + timedelta(minutes=i)) for i in range(min(count, MINUTES_PER_DAY))]


def due_fire(spec: SlotSpec, tz: str, start: datetime, end: datetime) -> tuple[date, datetime] | None:
    """The (local date, fire instant) of `spec` if it fires in (start, end]
    and is not stale (same local day as `end`, or within the midnight grace)."""
    today = end.astimezone(ZoneInfo(tz)).date()
    for local_date in (today, today - timedelta(days=1)):
        if spec.days is not None and WEEKDAYS[local_date.weekday()] not in spec.days:
            continue  # the store is closed at this time on that weekday
        fire = fire_at(local_date, spec.at, tz)
        if start < fire <= end and (local_date == today or end - fire <= MIDNIGHT_GRACE):
            return local_date, fire
    return None


def _floor_minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)
