"""The nightly WeCom reconcile Lambda (`chalicelib.groups.events.scheduled_reconcile`).
Lean: `app.py` imports it for the schedule; the reconcile is imported when
it runs (docs/cold_start.md)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Cron

from chalicelib import logs
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.settings import get_settings

bp = Blueprint(__name__)
log = logs.get_logger("groups.reconcile")


@bp.schedule(Cron(30, 18, "*", "*", "?", "*"), name="groups_reconcile")
def scheduled_reconcile(event: Any) -> None:
    """Nightly at 18:30 UTC = 02:30 in Asia/Shanghai (the stores' quietest
    hour): correct the group ledger from WeCom for callbacks that never came."""
    from chalicelib.groups import reconcile

    if get_settings().wecom == "off":
        return
    with logs.invocation("groups_reconcile", event):
        ensure_bound()
        results = reconcile.reconcile_all(get_clock().now())
        drift = [r for r in results if r.added or r.recounted or r.retired or r.error]
        log.info("groups reconcile", extra={"fields": {
            "stores": len(results), "drifted": len(drift), "errors": sum(1 for r in results if r.error),
            "added": sum(len(r.added) for r in results), "retired": sum(len(r.retired) for r in results)}})
