"""Store staff (admin-managed). A staff token's `store_id` claim is what
authorises redemptions; this record is the roster operators manage.
Reads carry an ETag (from `updated_at`); PUT/PATCH honour If-Match."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from chalice import Blueprint
from pydantic import ConfigDict, model_validator
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import etags, pages, txn
from chalicelib.auth import Principal
from chalicelib.clock import get_clock
from chalicelib.errors import NotFound
from chalicelib.schema import ApiModel
from chalicelib.staff import roster
from chalicelib.staff.models import StaffRecord
from chalicelib.stores.service import get_store
from chalicelib.types import EntityId
from chalicelib.web import WithHeaders, endpoint, patched

bp = Blueprint(__name__)
READ_ONLY = ("staff_id", "updated_at", "tokens_valid_after")


class StaffIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    store_id: EntityId
    role: Literal["clerk", "manager"] = "clerk"
    status: Literal["active", "disabled"] = "active"

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: object) -> object:
        """A staff record as GET returned it is accepted back."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in READ_ONLY}
        return data


class Staff(ApiModel):
    staff_id: str
    store_id: str
    role: Literal["clerk", "manager"]
    status: Literal["active", "disabled"] = "active"
    updated_at: datetime
    tokens_valid_after: datetime | None = None


class StaffList(ApiModel):
    staff: list[Staff]
    next_cursor: str | None


def _view(record: StaffRecord) -> Staff:
    return Staff(staff_id=record.staff_id, store_id=record.store_id, role=record.role,  # type: ignore[arg-type]
                 status=record.status or "active", updated_at=record.updated_at,  # type: ignore[arg-type]
                 tokens_valid_after=record.tokens_valid_after)


def _tagged(record: StaffRecord) -> WithHeaders:
    return WithHeaders(_view(record), {"ETag": etags.of_time(record.updated_at)})


def _get(staff_id: str) -> StaffRecord | None:
    try:
        return StaffRecord.get(staff_id, consistent_read=True)
    except DoesNotExist:
        return None


def _save(staff_id: str, data: StaffIn, current: StaffRecord | None) -> StaffRecord:
    """An update (it keeps `tokens_valid_after`); conditional on the version
    read when there is one to match: 412 when someone saved in between."""
    get_store(data.store_id)  # 404 for an unknown store
    now = get_clock().now()
    if current is not None:
        now = max(now, current.updated_at + timedelta(microseconds=1))  # a new ETag for every write
    record = StaffRecord(staff_id)
    try:
        record.update(actions=[StaffRecord.store_id.set(data.store_id), StaffRecord.role.set(data.role),
                               StaffRecord.status.set(data.status), StaffRecord.updated_at.set(now)],
                      condition=StaffRecord.updated_at == current.updated_at if current is not None else None)
    except UpdateError as exc:
        if txn.is_condition_failure(exc):
            raise etags.PreconditionFailed() from exc
        raise
    roster.forget(staff_id)
    return record


@endpoint(bp, "PUT", "/staff/{staff_id}", summary="Create or update a staff member (If-Match: only over that version)",
          roles=("admin",), body=StaffIn, response=Staff, errors=(404, etags.PreconditionFailed))
def put_staff(principal: Principal, staff_id: str, body: StaffIn, if_match: str | None) -> WithHeaders:
    current = None
    if if_match is not None and if_match.strip() != "*":
        current = _get(staff_id)
        if current is None:
            raise etags.PreconditionFailed("no such staff member to match")
        etags.require(if_match, etags.of_time(current.updated_at))
    return _tagged(_save(staff_id, body, current))


@endpoint(bp, "GET", "/staff/{staff_id}", summary="Read a staff member (with ETag)", roles=("admin",),
          response=Staff, errors=(400, 401, 403, 404))
def get_staff(principal: Principal, staff_id: str) -> WithHeaders:
    record = _get(staff_id)
    if record is None:
        raise NotFound(f"staff {staff_id} not found")
    return _tagged(record)


@endpoint(bp, "PATCH", "/staff/{staff_id}", summary="Change a staff member's store, role or status (merge patch)",
          roles=("admin",), body=etags.MergePatch, response=Staff, errors=(404, etags.PreconditionFailed))
def patch_staff(principal: Principal, staff_id: str, body: etags.MergePatch, if_match: str | None) -> WithHeaders:
    current = _get(staff_id)
    if current is None:
        raise NotFound(f"staff {staff_id} not found")
    etags.require(if_match, etags.of_time(current.updated_at))
    view = _view(current).model_dump(mode="json")
    data = patched(StaffIn, view, body.patch(), {name: [view.get(name)] for name in ("staff_id", "tokens_valid_after")})
    return _tagged(_save(staff_id, data, current))


@endpoint(bp, "GET", "/stores/{store_id}/staff", summary="A store's staff, cursor-paged (GSI by_store)",
          roles=("admin",), query=pages.PageQuery, response=StaffList, errors=(400, 401, 403, 404))
def store_staff(principal: Principal, store_id: str, query: pages.PageQuery) -> StaffList:
    get_store(store_id)
    page = pages.query_page(f"staff|{store_id}", StaffRecord.by_store.query, store_id, query)
    return StaffList(staff=[_view(r) for r in page.items], next_cursor=page.next_cursor)


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
