"""Store staff (admin-managed). A staff token's `store_id` claim is what
authorises redemptions; this record is the roster operators manage."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import ConfigDict

from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.schema import ApiModel
from chalicelib.staff.models import StaffRecord
from chalicelib.stores.service import get_store
from chalicelib.types import EntityId
from chalicelib.web import endpoint

bp = Blueprint(__name__)


class StaffIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    store_id: EntityId
    role: Literal["clerk", "manager"] = "clerk"


class Staff(ApiModel):
    staff_id: str
    store_id: str
    role: Literal["clerk", "manager"]
    updated_at: datetime


@endpoint(bp, "PUT", "/staff/{staff_id}", summary="Create or update a staff member", roles=("admin",),
          body=StaffIn, response=Staff, errors=(400, 401, 403, 404))
def put_staff(principal: Principal, staff_id: str, body: StaffIn) -> Staff:
    get_store(body.store_id)  # 404 for an unknown store
    record = StaffRecord(staff_id, store_id=body.store_id, role=body.role, updated_at=get_clock().now())
    record.save()
    return Staff(staff_id=staff_id, store_id=record.store_id, role=body.role, updated_at=record.updated_at)
