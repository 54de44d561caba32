"""The hourly insights refresh Lambda (`chalicelib.insights.events.scheduled_refresh`).
Lean: `app.py` imports it for the schedule; the refresh is imported when it
runs (docs/cold_start.md)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

from chalicelib import logs
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
log = logs.get_logger("insights")


@bp.schedule(Cron(5, "*", "*", "*", "?", "*"), name="insights_refresh")
def scheduled_refresh(event: Any) -> None:
    """Every hour at :05 UTC: the stores whose local day has started since
    their last refresh (00:05 local in whole-hour timezones), so changes
    scheduled for a store's next day take effect at its own midnight. At
    least once and late runs are safe (per-store and per-zone day stamps)."""
    from chalicelib.insights.refresh import run_refresh

    with logs.invocation("insights_refresh", event):
        ensure_bound()
        summary = run_refresh(get_clock().now(), get_settings().insights_weeks)
        log.info(summary.line(), extra={"fields": {"stores": summary.stores, "items_read": summary.items_read,
                                                   "applied": summary.applied, "errors": summary.errors}})
