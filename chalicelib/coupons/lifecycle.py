"""Templates for the console: list (cursor-paged), merge-patch, pause /
resume / end, and copy.

Every change is a versioned write on `TemplateRecord` (PynamoDB's
`VersionAttribute` adds `version = <read>` and increments it), so a
per-container template cache keyed on `version` sees it, and a concurrent
edit gives 412 instead of a lost update. The write is one transaction with
every stock shard (`templates.commit_save`): the shards carry the version
and status that claims are guarded on.

The list is served by the `by_created` GSI (hash `list_key` = "template",
range created_at#id, newest first); status, kind, store and active-window
filters are a FilterExpression on that Query. The store filter matches the
template's scope buckets (`index_buckets`) against the store's, the same
invariant the offers index relies on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from chalicelib import etags, pages
from chalicelib.coupons import rules
from chalicelib.coupons.errors import TemplateEnded
from chalicelib.coupons.models import TemplateRecord
from chalicelib.coupons.schemas import Kind, Template, TemplateCreateIn, TemplateIn, TemplateStatus
from chalicelib.coupons.templates import (
    LIST_KEY,
    commit_save,
    create_template,
    get_template,
    remaining,
    to_view,
    update_template,
)
from chalicelib.schema import ApiModel
from chalicelib.stores.service import get_store
from chalicelib.txn import Refused
from chalicelib.types import EntityId, Instant, Name
from chalicelib.web import patched, validation_failed


class TemplateListQuery(pages.PageQuery):
    model_config = ConfigDict(extra="forbid")

    status: TemplateStatus | None = None
    kind: Kind | None = None
    store_id: EntityId | None = Field(None, description="only templates whose scope covers this store")
    active_at: Instant | None = Field(None, description="only templates claimable at this instant")


class TemplateList(ApiModel):
    templates: list[Template]
    next_cursor: str | None


class CopyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    template_id: EntityId | None = Field(None, description="id of the copy (default: minted)")
    title: Name | None = Field(None, description="default: the original's title")


def etag(record: TemplateRecord) -> str:
    return etags.of_version(int(record.version))


def list_templates(query: TemplateListQuery, now: datetime) -> tuple[list[TemplateRecord], str | None]:
    conditions: list[Any] = []
    if query.status == "active":
        conditions.append((TemplateRecord.status == "active") & (TemplateRecord.claim_end > now))
    elif query.status == "paused":
        conditions.append((TemplateRecord.status == "paused") & (TemplateRecord.claim_end > now))
    elif query.status == "ended":
        conditions.append((TemplateRecord.status == "ended") | (TemplateRecord.claim_end <= now))
    if query.kind:
        conditions.append(TemplateRecord.kind == query.kind)
    if query.store_id:
        store = get_store(query.store_id)
        buckets = rules.store_buckets(store.store_id, store.traffic_tier, store.spend_tier)
        either = None
        for bucket in buckets:
            c = TemplateRecord.index_buckets.contains(bucket)
            either = c if either is None else either | c
        conditions.append(either)
    if query.active_at:
        at = query.active_at
        conditions.append((TemplateRecord.claim_start <= at) & (TemplateRecord.claim_end > at))
    combined = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    page = pages.query_page("templates", TemplateRecord.by_created.query, LIST_KEY, query,
                            filter_condition=combined, forward=False)
    return page.items, page.next_cursor


def set_status(template_id: str, status: str, if_match: str | None, now: datetime) -> TemplateRecord:
    """Pause, resume or end. Versioned: refused (412) if the template moved
    on since it was read; an ended template stays ended (guarded too)."""
    record = get_template(template_id)
    etags.require(if_match, etag(record))
    if record.status == "ended" and status != "ended":
        raise TemplateEnded()
    record.status, record.updated_at = status, now
    try:
        # the template and every stock shard in one transaction: a claim
        # guarded on a shard sees the pause (coupons/terms.py)
        commit_save(record, condition=TemplateRecord.status.does_not_exist() | (TemplateRecord.status != "ended")
                    if status != "ended" else None)
    except Refused as exc:
        if exc.on("template"):
            raise etags.PreconditionFailed() from None
        raise
    return record


def patch_template(template_id: str, patch: dict[str, Any], if_match: str | None, now: datetime) -> TemplateRecord:
    current = get_template(template_id)
    etags.require(if_match, etag(current))
    view = to_view(current, None).model_dump(mode="json")
    # status: as read now, or as stored (a GET made before the claim window closed said "active")
    data = patched(TemplateIn, view, patch, {"template_id": [view["template_id"]],
                                             "status": [view["status"], current.status or "active"]})
    # the save is conditional on the version we merged onto
    return update_template(template_id, data, now, if_match=etag(current))


def copy_template(template_id: str, body: CopyIn, now: datetime) -> TemplateRecord:
    """A new active template with the same terms and the original's total stock."""
    source = get_template(template_id)
    data = to_view(source, None).model_dump(mode="json")
    for field in ("template_id", "remaining", "created_at", "updated_at", "version", "status"):
        data.pop(field, None)
    if body.title:
        data["title"] = body.title
    try:
        create = TemplateCreateIn.model_validate({**data, "template_id": body.template_id})
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    return create_template(create, now, template_id=body.template_id)


def view(record: TemplateRecord) -> Template:
    return to_view(record, remaining(record))
