"""A store's policy item: pins, the last refresh's derived values, changes
waiting for the next local day, and the audit trail (storage).

The policy item is read-modify-written under a `version` guard (a
conditional put): an admin pinning while the refresh writes the same store
makes one of them re-read and redo, never lose the other's change. Applying
a due change to the store is an UpdateItem of that one field (the rest of
the store record is untouched), repeated harmlessly when a retry re-applies
it (it is audited only when it changes the value)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib import retry
from chalicelib.clock import iso, local_time
from chalicelib.insights.models import PolicyAudit, StorePolicy
from chalicelib.insights.rules import FIELDS, effective_from
from chalicelib.stores.models import StoreRecord
from chalicelib.stores.service import get_store
from chalicelib.txn import is_condition_failure


class VersionMoved(Exception):
    """The policy item changed since it was read: re-read and redo."""


def read(store_id: str) -> StorePolicy:
    try:
        return StorePolicy.get(store_id, consistent_read=True)
    except DoesNotExist:
        return StorePolicy(store_id, pins={}, pending={}, version=0)


def save(policy: StorePolicy) -> None:
    """Conditional put on the version read (absent = never written)."""
    read_version = int(policy.version or 0)
    condition = (StorePolicy.store_id.does_not_exist() if read_version == 0
                 else StorePolicy.version == read_version)
    policy.version = read_version + 1
    try:
        policy.save(condition=condition)
    except PutError as exc:
        policy.version = read_version
        if is_condition_failure(exc):
            raise VersionMoved() from exc
        raise


def audit(store_id: str, field: str, old: str | None, new: str | None, by: str, what: str, now: datetime,
          effective: str | None = None) -> None:
    PolicyAudit(store_id, f"{iso(now)}#{field}#{uuid.uuid4().hex[:8]}", field=field, old=old, new=new, by=by,
                what=what, at=now, effective_from=effective).save()


def recent_audit(store_id: str, limit: int = 50) -> list[PolicyAudit]:
    return list(PolicyAudit.query(store_id, scan_index_forward=False, limit=limit))


def store_value(store: StoreRecord, field: str) -> str | None:
    value = getattr(store, field)
    return None if value is None else str(value)


def apply_due(store: StoreRecord, policy: StorePolicy, now: datetime) -> list[str]:
    """Write the changes whose day has come into the store record; returns
    the fields changed (the caller re-indexes slots if idle_hour is one)."""
    today = local_time(now, store.timezone).date().isoformat()
    pending: dict[str, Any] = dict(policy.pending or {})
    changed = []
    for field, change in sorted(pending.items()):
        if change["effective_from"] > today:
            continue
        old = store_value(store, field)
        if old != change["value"]:
            attr = getattr(StoreRecord, field)
            action = attr.remove() if change["value"] is None else attr.set(change["value"])
            # only over the value this decision was made from (an admin's edit in
            # between wins, and the change stays pending for the next run) and
            # never over a newer store version: `now` is the refresh's start, and
            # a save during the run must not have its version moved back (the
            # slot index is filed by version)
            unchanged = attr.does_not_exist() if old is None else attr == old
            try:
                StoreRecord(store.store_id).update(
                    actions=[action, StoreRecord.updated_at.set(now)],
                    condition=StoreRecord.store_id.exists() & unchanged & (StoreRecord.updated_at <= now))
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
                continue
            setattr(store, field, change["value"])
            store.updated_at = now  # the version the slot re-file is stamped with
            audit(store.store_id, field, old, change["value"], change["by"], "applied", now, change["effective_from"])
            changed.append(field)
        del pending[field]
    policy.pending = pending
    return changed


def schedule(store: StoreRecord, policy: StorePolicy, field: str, value: str | None, by: str,
             now: datetime) -> bool:
    """Make `field` become `value` from the next local day (or cancel a
    pending change that is no longer needed). True when something new was
    scheduled (audited)."""
    pending: dict[str, Any] = dict(policy.pending or {})
    current = store_value(store, field)
    if value == current:
        pending.pop(field, None)
        policy.pending = pending
        return False
    if field in pending and pending[field]["value"] == value:
        return False
    start = effective_from(local_time(now, store.timezone).date())
    pending[field] = {"value": value, "effective_from": start, "by": by}
    policy.pending = pending
    audit(store.store_id, field, current, value, by, "scheduled", now, start)
    return True


def set_pins(store_id: str, pin: dict[str, str | None], unpin: list[str], by: str, now: datetime) -> StorePolicy:
    """Pin fields to values / return them to auto. A pinned value takes
    effect from the next local day like any change; unpinning leaves the
    store as it is until the next refresh decides."""
    store = get_store(store_id)
    for _ in retry.attempts(what="changing this store's policy"):
        policy = read(store_id)
        pins: dict[str, Any] = dict(policy.pins or {})
        for field in unpin:
            if field in pins:
                audit(store_id, field, pins.pop(field), None, by, "unpin", now)
        for field, value in pin.items():
            if field not in pins or pins[field] != value:
                audit(store_id, field, pins.get(field), value, by, "pin", now)
            pins[field] = value
            schedule(store, policy, field, value, by, now)
        policy.pins = pins
        try:
            save(policy)
            return policy
        except VersionMoved:
            continue
    raise AssertionError("unreachable: retry.attempts raises when the budget is spent")


def is_field(name: str) -> bool:
    return name in FIELDS
