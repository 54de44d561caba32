"""A store's policy item: pins, the last refresh's derived values, changes
waiting for the next local day, and the audit trail (storage).

The policy item is read-modify-written under a `version` guard (a
conditional put): an admin pinning while the refresh writes the same store
makes one of them re-read and redo, never lose the other's change. Applying
a due change to the store updates that one field (the rest of the store
record is untouched) in one transaction with its "applied" audit row, whose
key is fixed per store, field, day and value: applied and audited together,
exactly once; a refusal by that row tells our own lost answer (its `run`)
from another run's apply (`apply_due`)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import retry, txn
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


@dataclasses.dataclass
class Applied:
    """What `apply_due` did: the fields this call applied (its own write, also
    when that write's answer was lost), and whether the store's slots must be
    re-filed (an `idle_hour` change by the refresh: this call's, or an earlier
    run's that may have stopped before its re-file)."""

    fields: list[str] = dataclasses.field(default_factory=list)
    refile: bool = False


def applied_key(store: StoreRecord, name: str, change: dict[str, Any]) -> str:
    """The audit row of the refresh applying a change: one per store, field,
    local day and value, so the key itself says whether that change was
    applied. Sorted at that day's local midnight (as a UTC instant)."""
    start = datetime.combine(date.fromisoformat(change["effective_from"]), time(0), ZoneInfo(store.timezone))
    return f"{iso(start.astimezone(UTC))}#{name}#applied#{change['value'] or '-'}"


def apply_due(store: StoreRecord, policy: StorePolicy, now: datetime) -> Applied:
    """Write the changes whose day has come into the store record, each in
    one transaction with its "applied" audit row (a key per store, field,
    day and value), so a change is applied and audited together, exactly once, under
    concurrent and redelivered runs and lost answers (docs/insights.md,
    "Applied exactly once"). `store` is updated to what stands after."""
    today = local_time(now, store.timezone).date().isoformat()
    pending: dict[str, Any] = dict(policy.pending or {})
    run = uuid.uuid4().hex  # stamped on our audit rows: a refusal by a row carrying it is our own write
    done = Applied()
    for name, change in sorted(pending.items()):
        if change["effective_from"] > today:
            continue
        key = applied_key(store, name, change)
        if store_value(store, name) == change["value"]:
            # already in effect: by an earlier run of ours that stopped after its write (its audit
            # row committed with it; re-file in case it did not), or by an admin's edit (no row)
            if name == "idle_hour" and _applied_row(store.store_id, key) is not None:
                done.refile = True
            del pending[name]
            continue
        outcome = _apply(store, name, change, key, run, now)
        if outcome == "waits":
            continue  # the store moved (an admin's edit or a newer save): the next run decides
        if outcome == "mine":
            done.fields.append(name)
        if outcome != "edited back":
            done.refile = done.refile or name == "idle_hour"
        del pending[name]
    policy.pending = pending
    return done


def _apply(store: StoreRecord, name: str, change: dict[str, Any], key: str, run: str, now: datetime) -> str:
    """One change: "mine" (this call applied it, also when the answer was
    lost and a re-send was refused by our own write), "theirs" (another run
    applied it), "edited back" (applied once, edited since: not again), or
    "waits" (the store moved: an admin's edit or a newer save)."""
    old, value = store_value(store, name), change["value"]
    attr = getattr(StoreRecord, name)
    # only over the value this decision was made from (an admin's edit in between wins) and never
    # over a newer store version: `now` is the refresh's start, and a save during the run must not
    # have its version moved back (the slot index is filed by version)
    unchanged = attr.does_not_exist() if old is None else attr == old
    for attempt in retry.attempts(what="applying a store's change"):
        tx = txn.Transaction(token=txn.token_for(run, name, str(attempt)))
        tx.update("store", StoreRecord(store.store_id),
                  [attr.remove() if value is None else attr.set(value), StoreRecord.updated_at.set(now)],
                  condition=StoreRecord.store_id.exists() & unchanged & (StoreRecord.updated_at <= now), old=True)
        tx.put("audit", PolicyAudit(store.store_id, key, field=name, old=old, new=value, by=change["by"],
                                    what="applied", at=now, effective_from=change["effective_from"], run=run),
               condition=PolicyAudit.sk.does_not_exist(), old=True)
        try:
            tx.commit()  # a lost answer is re-sent with the same token: DynamoDB answers "done"
        except txn.Contended:
            continue  # nothing written: the guards decide again
        except txn.Refused as exc:
            row: PolicyAudit | None = exc.old("audit") if exc.on("audit") else None
            there: StoreRecord | None = exc.old("store") if exc.on("store") else None
            if row is None and there is not None and store_value(there, name) == value:
                row = _applied_row(store.store_id, key)  # in case only the first failed guard was named
            if row is None:
                return "waits"
            if there is None:
                return "edited back"  # the store passed its guard: it is at the old value again
            _follow(store, there)
            # a re-send after the token's window (or a new token) meets our own commit
            return "mine" if row.run == run else "theirs"
        setattr(store, name, value)
        store.updated_at = now  # the version the slot re-file is stamped with
        return "mine"
    raise AssertionError("unreachable: retry.attempts raises when the budget is spent")


def _applied_row(store_id: str, key: str) -> PolicyAudit | None:
    try:
        return PolicyAudit.get(store_id, key, consistent_read=True)
    except DoesNotExist:
        return None


def _follow(store: StoreRecord, there: StoreRecord) -> None:
    """The store as it stands (from a refusal), for the rest of the refresh
    and the slot re-file."""
    for name in StoreRecord.get_attributes():
        setattr(store, name, getattr(there, name))


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
