"""Store staff (admin-managed). A staff token's `store_id` claim is what
authorises redemptions; this record is the roster operators manage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from chalice import Blueprint
from pydantic import ConfigDict
from pynamodb.exceptions import UpdateError

from chalicelib import txn
from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.errors import NotFound
from chalicelib.schema import ApiModel
from chalicelib.staff import roster
from chalicelib.staff.models import StaffRecord
from chalicelib.stores.service import get_store
from chalicelib.types import EntityId
from chalicelib.web import endpoint

bp = Blueprint(__name__)


class StaffIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    store_id: EntityId
    role: Literal["clerk", "manager"] = "clerk"
    status: Literal["active", "disabled"] = "active"


class Staff(ApiModel):
    staff_id: str
    store_id: str
    role: Literal["clerk", "manager"]
    status: Literal["active", "disabled"] = "active"
    updated_at: datetime
    tokens_valid_after: datetime | None = None


def _view(record: StaffRecord) -> Staff:
    return Staff(staff_id=record.staff_id, store_id=record.store_id, role=record.role,  # type: ignore[arg-type]
                 status=record.status or "active", updated_at=record.updated_at,  # type: ignore[arg-type]
                 tokens_valid_after=record.tokens_valid_after)


@endpoint(bp, "PUT", "/staff/{staff_id}", summary="Create or update a staff member", roles=("admin",),
          body=StaffIn, response=Staff, errors=(400, 401, 403, 404))
def put_staff(principal: Principal, staff_id: str, body: StaffIn) -> Staff:
    get_store(body.store_id)  # 404 for an unknown store
    record = StaffRecord(staff_id)
    record.update(actions=[StaffRecord.store_id.set(body.store_id), StaffRecord.role.set(body.role),
                           StaffRecord.status.set(body.status), StaffRecord.updated_at.set(get_clock().now())])
    roster.forget(staff_id)
    return _view(record)


@endpoint(bp, "POST", "/staff/{staff_id}/revoke-tokens", summary="Refuse every token this staff member holds now",
          roles=("admin",), response=Staff, errors=(400, 401, 403, 404))
def revoke_tokens(principal: Principal, staff_id: str) -> Staff:
    """Tokens issued before now are refused (403); a new sign-in works. Whole
    seconds: a token issued in the same second as the revocation is refused too."""
    now = get_clock().now()
    record = StaffRecord(staff_id)
    try:
        record.update(actions=[StaffRecord.tokens_valid_after.set(now.replace(microsecond=0) + timedelta(seconds=1)),
                               StaffRecord.updated_at.set(now)],
                      condition=StaffRecord.staff_id.exists())
    except UpdateError as exc:
        if txn.is_condition_failure(exc):
            raise NotFound(f"staff {staff_id} not found") from exc
        raise
    roster.forget(staff_id)
    return _view(record)
