"""The daily insights refresh Lambda (`chalicelib.insights.events.scheduled_refresh`).
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


@bp.schedule(Cron(5, 16, "*", "*", "?", "*"), name="insights_refresh")
def scheduled_refresh(event: Any) -> None:
    """Daily at 16:05 UTC = 00:05 in Asia/Shanghai: changes scheduled by
    yesterday's run take effect as the local day starts."""
    from chalicelib.insights.refresh import run_refresh

    ensure_bound()
    summary = run_refresh(get_clock().now(), get_settings().insights_weeks)
    log.info(summary.line(), extra={"fields": {"stores": summary.stores, "items_read": summary.items_read}})
