"""Store insights (read), policy pins, opening hours, and the daily refresh."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.auth import Principal
from chalicelib.campaigns import store_config
from chalicelib.clock import get_clock
from chalicelib.errors import ValidationFailed
from chalicelib.insights import policy as policies
from chalicelib.insights.rules import FIELDS
from chalicelib.insights.schemas import AuditEntry, FieldInsight, HoursIn, InsightsOut, Pending, PolicyIn
from chalicelib.settings import get_settings
from chalicelib.stores import service as stores
from chalicelib.stores.schemas import Store
from chalicelib.web import endpoint

bp = Blueprint(__name__)


def insights_view(store_id: str) -> InsightsOut:
    store = stores.get_store(store_id)
    policy = policies.read(store_id)
    derived: dict[str, Any] = dict(policy.derived or {})
    pins: dict[str, Any] = dict(policy.pins or {})
    pending: dict[str, Any] = dict(policy.pending or {})
    fields = {}
    for name in FIELDS:
        found = derived.get(name) or {"value": None, "enough_data": False, "reason": "not refreshed yet",
                                      "figures": {}}
        fields[name] = FieldInsight(
            current=policies.store_value(store, name), mode="pinned" if name in pins else "auto",
            pinned_value=pins.get(name), derived=found["value"], enough_data=found["enough_data"],
            reason=found["reason"], figures=found["figures"],
            pending=Pending(**pending[name]) if name in pending else None)
    audit = [AuditEntry(at=a.at, field=a.field, what=a.what, old=a.old, new=a.new, by=a.by,
                        effective_from=a.effective_from) for a in policies.recent_audit(store_id)]
    return InsightsOut(store_id=store_id, refreshed_at=policy.refreshed_at, weeks=get_settings().insights_weeks,
                       facts=derived.get("facts", {}), fields=fields, audit=audit)


@endpoint(bp, "GET", "/stores/{store_id}/insights",
          summary="Derived traffic/spend tiers, member day and idle hour, the figures behind each, auto or pinned",
          roles=("admin", "staff"), response=InsightsOut, errors=(404,))
def get_insights(principal: Principal, store_id: str) -> InsightsOut:
    principal.require_store(store_id)
    return insights_view(store_id)


@endpoint(bp, "PUT", "/stores/{store_id}/policy",
          summary="Pin store fields to values (from the next local day) or return them to auto",
          roles=("admin",), body=PolicyIn, response=InsightsOut, errors=(404,))
def put_policy(principal: Principal, store_id: str, body: PolicyIn) -> InsightsOut:
    pin = {name: getattr(body.pin, name) for name in body.pin.model_fields_set}
    both = set(pin) & set(body.unpin)
    if both:
        raise ValidationFailed.field("unpin", f"{', '.join(sorted(both))} cannot be pinned and unpinned at once")
    for name in ("traffic_tier", "spend_tier"):
        if name in pin and pin[name] is None:
            raise ValidationFailed.field(f"pin.{name}", "a tier cannot be null")
    policies.set_pins(store_id, pin, list(body.unpin), f"admin:{principal.sub}", get_clock().now())
    return insights_view(store_id)


@endpoint(bp, "PUT", "/stores/{store_id}/hours",
          summary="Set a store's opening hours per weekday (overnight allowed) and its afternoon window",
          roles=("admin",), body=HoursIn, response=Store, errors=(404,))
def put_hours(principal: Principal, store_id: str, body: HoursIn) -> Store:
    now = get_clock().now()
    week = None if body.hours is None else {str(day): spans for day, spans in body.hours.items()}
    record = store_config.save_hours(store_id, week, body.afternoon_window, now)
    return stores.to_view(record, now=now)


