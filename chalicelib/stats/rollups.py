"""Chain-wide and per-template daily stats, and CSV exports. All
index-served, never a Scan:

- chain: `store-day-stats` GSI `by_day` (hash day): one Query per day,
  summing the stores' counter rows (ranges capped at 31 days).
- template: `coupons` GSI `by_template` (keys only: template_id,
  claimed_at) and `coupon-redemptions` GSI `by_template`, both ranged on
  time; bucketed by the chain's local day. GMV influenced = the order
  amounts (`spend_fen`) of the template's standing redemptions."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalice import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.clock import local_time
from chalicelib.coupons.models import CouponRecord, RedemptionRecord
from chalicelib.errors import ValidationFailed
from chalicelib.schema import ApiModel
from chalicelib.stats.day_rows import chain_rows, count, store_rows
from chalicelib.stats.models import MEMBER_TIERS, StoreDayStats
from chalicelib.stores.models import StoreRecord
from chalicelib.types import IsoDate

CHAIN_TZ = "Asia/Shanghai"  # HQ's calendar for chain-wide and per-template days
DEFAULT_DAYS = 7
MAX_CHAIN_DAYS = 31
MAX_TEMPLATE_DAYS = 92


class RangeQuery(ApiModel):
    """`from`/`to` are local dates; default: the last 7 days up to today."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: IsoDate | None = Field(None, alias="from")
    to: IsoDate | None = None

    @model_validator(mode="after")
    def _order(self) -> RangeQuery:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("`to` is before `from`")
        return self

    def days(self, now: datetime, max_days: int) -> list[date]:
        end = self.to or (self.from_ + timedelta(days=DEFAULT_DAYS - 1) if self.from_
                          else local_time(now, CHAIN_TZ).date())
        start = self.from_ or end - timedelta(days=DEFAULT_DAYS - 1)
        count = (end - start).days + 1
        if count > max_days:
            raise ValidationFailed.field("from", f"at most {max_days} days per request")
        return [start + timedelta(days=i) for i in range(count)]


class ChainDay(ApiModel):
    day: date
    stores_reporting: int
    members_joined: int
    coupons_claimed: int
    coupons_redeemed: int
    redemption_rate: float | None
    clearance_units_claimed: int
    posts_sent: int
    posts_failed: int
    payments: int
    gmv_fen: int


class ChainStats(ApiModel):
    timezone: str
    days: list[ChainDay]


class TemplateDay(ApiModel):
    day: date
    claims: int
    redemptions: int
    reversals: int
    redemption_rate: float | None
    gmv_influenced_fen: int


class TemplateStats(ApiModel):
    template_id: str
    timezone: str
    days: list[TemplateDay]


def _rate(redeemed: int, claimed: int) -> float | None:
    return round(redeemed / claimed, 4) if claimed else None


def chain_stats(days: list[date]) -> ChainStats:
    out = []
    by_day: dict[str, list[StoreDayStats]] = {day.isoformat(): [] for day in days}
    for row in chain_rows(days):
        by_day[row.day].append(row)
    for day in days:
        rows = by_day[day.isoformat()]
        totals: Counter[str] = Counter()
        for row in rows:
            for name in ("members_joined", "coupons_claimed", "coupons_redeemed", "redemptions_reversed",
                         "clearance_units_claimed", "posts_sent", "posts_failed", "payments", "gmv_fen"):
                totals[name] += count(getattr(row, name))
        redeemed = totals["coupons_redeemed"] - totals["redemptions_reversed"]
        out.append(ChainDay(
            day=day, stores_reporting=len(rows), members_joined=totals["members_joined"],
            coupons_claimed=totals["coupons_claimed"], coupons_redeemed=redeemed,
            redemption_rate=_rate(redeemed, totals["coupons_claimed"]),
            clearance_units_claimed=totals["clearance_units_claimed"], posts_sent=totals["posts_sent"],
            posts_failed=totals["posts_failed"], payments=totals["payments"], gmv_fen=totals["gmv_fen"]))
    return ChainStats(timezone=CHAIN_TZ, days=out)


class TierFigures(ApiModel):
    dimension: str = Field(description="traffic_tier or spend_tier (of the store)")
    tier: str
    stores_reporting: int
    coupons_claimed: int
    coupons_redeemed: int
    redemption_rate: float | None
    gmv_fen: int


class TierStats(ApiModel):
    first_day: date
    last_day: date
    tiers: list[TierFigures]


def tier_stats(days: list[date]) -> TierStats:
    """Claims, redemptions and rate over the range by the stores' traffic
    and spend tiers (as they are now): the by_day Queries, then one
    BatchGet of the stores that reported."""
    rows = chain_rows(days)
    ids = sorted({row.store_id for row in rows})
    stores = {s.store_id: s for s in StoreRecord.batch_get(ids)} if ids else {}
    totals: dict[tuple[str, str], Counter[str]] = {}
    reporting: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        store = stores.get(row.store_id)
        if store is None:
            continue
        for dimension in ("traffic_tier", "spend_tier"):
            key = (dimension, getattr(store, dimension))
            t = totals.setdefault(key, Counter())
            t["claimed"] += count(row.coupons_claimed)
            t["redeemed"] += count(row.coupons_redeemed) - count(row.redemptions_reversed)
            t["gmv"] += count(row.gmv_fen)
            reporting.setdefault(key, set()).add(row.store_id)
    order = {"high": 0, "medium": 1, "low": 2}
    return TierStats(first_day=days[0], last_day=days[-1], tiers=[
        TierFigures(dimension=dim, tier=tier, stores_reporting=len(reporting[(dim, tier)]),
                    coupons_claimed=t["claimed"], coupons_redeemed=t["redeemed"],
                    redemption_rate=_rate(t["redeemed"], t["claimed"]), gmv_fen=t["gmv"])
        for (dim, tier), t in sorted(totals.items(), key=lambda kv: (kv[0][0] != "traffic_tier",
                                                                     order.get(kv[0][1], 9)))])


class MemberTierFigures(ApiModel):
    tier: str = Field(description="the member's tier when claiming: new | active | loyal | at_risk")
    coupons_claimed: int
    coupons_redeemed: int = Field(description="redemptions of coupons claimed in that tier, net of reversals")
    redemption_rate: float | None = Field(description="coupons_redeemed / coupons_claimed; null with no claims")


class MemberTierStats(ApiModel):
    store_id: str | None = Field(description="null: the whole chain")
    first_day: date
    last_day: date
    tiers: list[MemberTierFigures] = Field(description="always the four tiers, in this order: new, active, "
                                                        "loyal, at_risk")


def member_tier_figures(rows: Iterable[StoreDayStats]) -> list[MemberTierFigures]:
    """Sums the by-tier counters (stats/tier_stream.py) of counter rows (pure)."""
    totals: Counter[str] = Counter()
    for row in rows:
        for tier in MEMBER_TIERS:
            totals[f"claimed_{tier}"] += count(getattr(row, f"claimed_{tier}"))
            totals[f"redeemed_{tier}"] += (count(getattr(row, f"redeemed_{tier}"))
                                           - count(getattr(row, f"reversed_{tier}")))
    return [MemberTierFigures(tier=tier, coupons_claimed=totals[f"claimed_{tier}"],
                              coupons_redeemed=totals[f"redeemed_{tier}"],
                              redemption_rate=_rate(totals[f"redeemed_{tier}"], totals[f"claimed_{tier}"]))
            for tier in MEMBER_TIERS]


def chain_member_tier_stats(days: list[date]) -> MemberTierStats:
    """One `by_day` Query per day (the same rows as the chain stats)."""
    rows = chain_rows(days)
    return MemberTierStats(store_id=None, first_day=days[0], last_day=days[-1], tiers=member_tier_figures(rows))


def store_member_tier_stats(store_id: str, days: list[date]) -> MemberTierStats:
    """One Query on the store's counter partition, day BETWEEN first AND last."""
    rows = store_rows(store_id, days[0], days[-1])
    return MemberTierStats(store_id=store_id, first_day=days[0], last_day=days[-1],
                           tiers=member_tier_figures(rows))


def _bounds(days: list[date]) -> tuple[datetime, datetime]:
    tz = ZoneInfo(CHAIN_TZ)
    return (datetime.combine(days[0], time.min, tz),
            datetime.combine(days[-1] + timedelta(days=1), time.min, tz) - timedelta(microseconds=1))


def template_stats(template_id: str, days: list[date]) -> TemplateStats:
    start, end = _bounds(days)
    claims: Counter[date] = Counter()
    for coupon in CouponRecord.by_template.query(template_id, CouponRecord.claimed_at.between(start, end)):
        claims[local_time(coupon.claimed_at, CHAIN_TZ).date()] += 1
    redeemed: Counter[date] = Counter()
    reversed_: Counter[date] = Counter()
    gmv: Counter[date] = Counter()
    for r in RedemptionRecord.by_template.query(template_id, RedemptionRecord.redeemed_at.between(start, end)):
        day = local_time(r.redeemed_at, CHAIN_TZ).date()
        if r.status == "reversed":
            reversed_[day] += 1
        else:
            redeemed[day] += 1
            gmv[day] += count(r.spend_fen)
    return TemplateStats(template_id=template_id, timezone=CHAIN_TZ, days=[
        TemplateDay(day=d, claims=claims[d], redemptions=redeemed[d], reversals=reversed_[d],
                    redemption_rate=_rate(redeemed[d], claims[d]), gmv_influenced_fen=gmv[d]) for d in days])


# A text cell a spreadsheet would run as a formula (OWASP "CSV injection"):
# `order_ref` is whatever a POS sent, and HQ opens these files in Excel.
# A signed plain number ("-1001", "+8613800000000") runs nothing and is kept as sent.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_response(rows: Iterable[BaseModel | dict[str, Any]], columns: list[str], filename: str) -> Response:
    """UTF-8 with a BOM, so spreadsheet apps read the Chinese right; a text
    cell that would start a formula is quoted with a leading `'`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        data = row.model_dump(mode="json") if isinstance(row, BaseModel) else row
        writer.writerow({k: _cell(data.get(k)) for k in columns})
    return Response(body="\ufeff" + buffer.getvalue(), status_code=200, headers={
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": f'attachment; filename="{filename}"'})


REDEMPTION_COLUMNS = ["redemption_id", "redeemed_at", "store_id", "staff_id", "member_id", "coupon_id",
                      "template_id", "discount_fen", "spend_fen", "order_ref", "status", "reversed_at", "reversed_by"]


def store_redemption_rows(store_id: str, days: list[date]) -> list[dict[str, Any]]:
    """One GSI Query (`by_store_day`) per local day."""
    rows = []
    for day in days:
        for r in RedemptionRecord.by_store_day.query(f"{store_id}#{day.isoformat()}"):
            rows.append({
                "redemption_id": r.redemption_id, "redeemed_at": local_time(r.redeemed_at, r.timezone).isoformat(),
                "store_id": r.store_id, "staff_id": r.staff_id, "member_id": r.member_id, "coupon_id": r.coupon_id,
                "template_id": r.template_id, "discount_fen": int(r.discount_fen),
                "spend_fen": None if r.spend_fen is None else int(r.spend_fen), "order_ref": r.order_ref,
                "status": r.status, "reversed_at": local_time(r.reversed_at, r.timezone).isoformat()
                if r.reversed_at else None, "reversed_by": r.reversed_by})
    return rows
