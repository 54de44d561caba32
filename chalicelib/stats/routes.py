"""GET /stats/stores/{store_id}: a store's daily counters over a date range
(one Query on the store's partition, day BETWEEN from AND to)."""

from __future__ import annotations

from datetime import date, timedelta

from chalice import Blueprint, Response
from pydantic import ConfigDict, Field, model_validator

from chalicelib.auth import Principal
from chalicelib.clock import get_clock, local_time
from chalicelib.coupons.templates import get_template
from chalicelib.groups.directory import store_groups
from chalicelib.schema import ApiModel
from chalicelib.stats import group_figures, rollups
from chalicelib.stats.day_rows import count, store_rows
from chalicelib.stats.models import StoreDayStats
from chalicelib.stores.service import get_store
from chalicelib.types import IsoDate
from chalicelib.web import endpoint

bp = Blueprint(__name__)
MAX_DAYS = 92


class StatsQuery(ApiModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: IsoDate = Field(alias="from")
    to: IsoDate

    @model_validator(mode="after")
    def _range(self) -> StatsQuery:
        if self.to < self.from_:
            raise ValueError("`to` is before `from`")
        if (self.to - self.from_).days + 1 > MAX_DAYS:
            raise ValueError(f"at most {MAX_DAYS} days per request")
        return self


class DayStats(ApiModel):
    day: date
    members_joined: int
    members_left: int
    group_members: int | None = Field(description="members in the store's groups at the end of the day "
                                                  "(null for future days or more than a year back)")
    coupons_claimed: int
    coupons_redeemed: int = Field(description="redemptions made that day, as the day's redemption log lists them")
    redemptions_reversed: int = Field(description="of that day's redemptions, how many were reversed since")
    redemption_rate: float | None = Field(description="(redeemed - reversed) / claimed that day; null with no claims")
    clearance_units_claimed: int
    posts_sent: int
    posts_failed: int
    payments: int
    gmv_fen: int


class StoreStats(ApiModel):
    store_id: str
    days: list[DayStats]


def day_stats(day: date, row: StoreDayStats | None, group_members: int | None) -> DayStats:
    claimed = count(row.coupons_claimed) if row else 0
    redeemed = count(row.coupons_redeemed) if row else 0
    reversed_ = count(row.redemptions_reversed) if row else 0
    return DayStats(
        day=day, members_joined=count(row.members_joined) if row else 0,
        members_left=count(row.members_left) if row else 0, group_members=group_members,
        coupons_claimed=claimed, coupons_redeemed=redeemed, redemptions_reversed=reversed_,
        redemption_rate=round((redeemed - reversed_) / claimed, 4) if claimed else None,
        clearance_units_claimed=count(row.clearance_units_claimed) if row else 0,
        posts_sent=count(row.posts_sent) if row else 0, posts_failed=count(row.posts_failed) if row else 0,
        payments=count(row.payments) if row else 0, gmv_fen=count(row.gmv_fen) if row else 0)


@endpoint(bp, "GET", "/stats/stores/{store_id}", summary="A store's daily counters over a date range",
          roles=("admin", "staff"), query=StatsQuery, response=StoreStats, errors=(400, 401, 403, 404))
def store_stats(principal: Principal, store_id: str, query: StatsQuery) -> StoreStats:
    return _store_stats(principal, store_id, query)


def _store_stats(principal: Principal, store_id: str, query: StatsQuery) -> StoreStats:
    principal.require_store(store_id)
    today = local_time(get_clock().now(), get_store(store_id).timezone).date()
    days = [query.from_ + timedelta(days=i) for i in range((query.to - query.from_).days + 1)]
    # One Query; it reaches on to today (at most a year) so group sizes can be walked back from today's.
    rows = {r.day: r for r in store_rows(store_id, query.from_, group_figures.read_until(query.from_, query.to, today))}
    members: dict[date, int] = {}
    if group_figures.walks_back(query.from_, today):
        current = group_figures.live_of(store_groups(store_id)).members
        members = group_figures.members_by_day(current, today, query.from_, group_figures.moves(rows.values()))
    return StoreStats(store_id=store_id, days=[day_stats(d, rows.get(d.isoformat()), members.get(d)) for d in days])


@endpoint(bp, "GET", "/stats/stores/{store_id}/export", summary="A store's daily counters as CSV",
          roles=("admin", "staff"), query=StatsQuery, errors=(400, 401, 403, 404))
def store_stats_csv(principal: Principal, store_id: str, query: StatsQuery) -> Response:
    stats = _store_stats(principal, store_id, query)
    return rollups.csv_response(stats.days, list(DayStats.model_fields), f"stats-{store_id}.csv")


@endpoint(bp, "GET", "/stats/chain", summary="Chain-wide counters per day (default: the last 7 days)",
          roles=("admin",), query=rollups.RangeQuery, response=rollups.ChainStats, errors=(400, 401, 403))
def chain_stats(principal: Principal, query: rollups.RangeQuery) -> rollups.ChainStats:
    return rollups.chain_stats(query.days(get_clock().now(), rollups.MAX_CHAIN_DAYS))


@endpoint(bp, "GET", "/stats/chain/tiers", summary="Claims, redemptions and rate by store tier over a range",
          roles=("admin",), query=rollups.RangeQuery, response=rollups.TierStats, errors=(400, 401, 403))
def chain_tier_stats(principal: Principal, query: rollups.RangeQuery) -> rollups.TierStats:
    return rollups.tier_stats(query.days(get_clock().now(), rollups.MAX_CHAIN_DAYS))


@endpoint(bp, "GET", "/stats/chain/member-tiers",
          summary="Claims, redemptions and redemption rate by the member's tier at claim, chain-wide",
          roles=("admin",), query=rollups.RangeQuery, response=rollups.MemberTierStats, errors=(400, 401, 403))
def chain_member_tier_stats(principal: Principal, query: rollups.RangeQuery) -> rollups.MemberTierStats:
    return rollups.chain_member_tier_stats(query.days(get_clock().now(), rollups.MAX_CHAIN_DAYS))


@endpoint(bp, "GET", "/stats/stores/{store_id}/member-tiers",
          summary="Claims, redemptions and redemption rate by the member's tier at claim, one store",
          roles=("admin", "staff"), query=rollups.RangeQuery, response=rollups.MemberTierStats,
          errors=(400, 401, 403, 404))
def store_member_tier_stats(principal: Principal, store_id: str,
                            query: rollups.RangeQuery) -> rollups.MemberTierStats:
    principal.require_store(store_id)
    get_store(store_id)  # 404 for an unknown store
    return rollups.store_member_tier_stats(store_id, query.days(get_clock().now(), rollups.MAX_TEMPLATE_DAYS))


@endpoint(bp, "GET", "/stats/chain/groups",
          summary="Members in WeCom groups per day and groups full / open now, chain-wide",
          roles=("admin",), query=rollups.RangeQuery, response=group_figures.GroupFigures, errors=(400, 401, 403))
def chain_group_stats(principal: Principal, query: rollups.RangeQuery) -> group_figures.GroupFigures:
    now = get_clock().now()
    days = query.days(now, rollups.MAX_CHAIN_DAYS)
    return group_figures.chain_figures(days, local_time(now, rollups.CHAIN_TZ).date())


@endpoint(bp, "GET", "/stats/stores/{store_id}/groups",
          summary="Members in the store's WeCom groups per day and its groups full / open now",
          roles=("admin", "staff"), query=rollups.RangeQuery, response=group_figures.GroupFigures,
          errors=(400, 401, 403, 404))
def store_group_stats(principal: Principal, store_id: str, query: rollups.RangeQuery) -> group_figures.GroupFigures:
    principal.require_store(store_id)
    now = get_clock().now()
    today = local_time(now, get_store(store_id).timezone).date()
    days = query.days(now, rollups.MAX_CHAIN_DAYS)
    return group_figures.store_figures(store_id, days, today)


@endpoint(bp, "GET", "/stats/chain/export", summary="Chain-wide counters per day as CSV",
          roles=("admin",), query=rollups.RangeQuery, errors=(400, 401, 403))
def chain_stats_csv(principal: Principal, query: rollups.RangeQuery) -> Response:
    stats = rollups.chain_stats(query.days(get_clock().now(), rollups.MAX_CHAIN_DAYS))
    return rollups.csv_response(stats.days, list(rollups.ChainDay.model_fields), "stats-chain.csv")


@endpoint(bp, "GET", "/stats/templates/{template_id}", summary="A template's claims, redemptions, GMV per day",
          roles=("admin",), query=rollups.RangeQuery, response=rollups.TemplateStats, errors=(400, 401, 403, 404))
def template_stats(principal: Principal, template_id: str, query: rollups.RangeQuery) -> rollups.TemplateStats:
    get_template(template_id)  # 404 for an unknown template
    return rollups.template_stats(template_id, query.days(get_clock().now(), rollups.MAX_TEMPLATE_DAYS))


@endpoint(bp, "GET", "/stores/{store_id}/redemptions/export", summary="A store's redemptions over local dates, CSV",
          roles=("admin", "staff"), query=rollups.RangeQuery, errors=(400, 401, 403, 404))
def store_redemptions_csv(principal: Principal, store_id: str, query: rollups.RangeQuery) -> Response:
    principal.require_store(store_id)
    store = get_store(store_id)
    days = query.days(get_clock().now(), rollups.MAX_TEMPLATE_DAYS)
    if query.to is None and query.from_ is None:
        today = local_time(get_clock().now(), store.timezone).date()
        days = [today - timedelta(days=i) for i in range(rollups.DEFAULT_DAYS - 1, -1, -1)]
    rows = rollups.store_redemption_rows(store_id, days)
    return rollups.csv_response(rows, rollups.REDEMPTION_COLUMNS, f"redemptions-{store_id}.csv")


