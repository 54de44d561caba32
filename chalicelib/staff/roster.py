"""Staff tokens are bound to the roster: a token is honoured only while its
`sub` is on the roster, active, at the store the token names, and issued
after the roster's revocation instant (`tokens_valid_after`).

The lookup is cached per container for `CACHE_S` seconds: that is the
staleness we accept (a disabled clerk may keep redeeming for at most that
long on a warm container, against up to the token's whole lifetime before).
A roster miss is cached too, so a flood of forged-sub tokens costs one read
per sub per window."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib.auth import Principal
from chalicelib.errors import Forbidden
from chalicelib.staff.models import StaffRecord

CACHE_S = 30.0
_cache: dict[tuple[str, str], tuple[float, StaffRecord | None]] = {}


def _lookup(staff_id: str) -> StaffRecord | None:
    key = (StaffRecord.Meta.table_name, staff_id)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    try:
        record: StaffRecord | None = StaffRecord.get(staff_id)
    except DoesNotExist:
        record = None
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (time.monotonic(), record)
    return record


def forget(staff_id: str) -> None:
    """This container's own roster writes take effect here at once."""
    for key in [k for k in _cache if k[1] == staff_id]:
        del _cache[key]


def check(principal: Principal) -> None:
    if principal.role != "staff":
        return
    record = _lookup(principal.sub)
    if record is None:
        raise Forbidden("this staff id is not on the roster")
    if (record.status or "active") != "active":
        raise Forbidden("this staff member is disabled")
    if record.store_id != principal.store_id:
        raise Forbidden("this staff member now works at another store; sign in again")
    valid_after = record.tokens_valid_after
    issued = datetime.fromtimestamp(principal.issued_at or 0, UTC)
    if valid_after is not None and issued < valid_after:
        raise Forbidden("this token was revoked; sign in again")
