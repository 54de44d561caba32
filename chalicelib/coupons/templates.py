"""Coupon templates: create, edit, read; and the scope index that lets a
store find its live templates without scanning.

Writes go index-first: an index entry pointing at a template that does not
(yet) exist, or no longer has that scope, is harmless because readers
re-check the template's own scope and window. A missing entry would hide a
template, so entries are written before the template and removed after."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import etags, request_scope, retry
from chalicelib.clock import get_clock
from chalicelib.coupons import own_offers, rules, shards
from chalicelib.coupons.errors import EditConflict, Ended, TemplateExists, TemplatePaused
from chalicelib.coupons.models import StockShard, TemplateIndexEntry, TemplateRecord, stock_shard
from chalicelib.coupons.schemas import AudienceIn, BoostIn, Scope, Template, TemplateIn, template_problems
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.txn import Contended, Refused, Transaction

LIST_KEY = "template"


def index_key(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scope_of(record: TemplateRecord) -> rules.Scope:
    return rules.Scope.of(record.scope_store_ids or (), record.scope_traffic_tiers or (),
                          record.scope_spend_tiers or ())


def _validate(data: TemplateIn, extra: list[dict[str, str]] | None = None) -> None:
    problems = template_problems(data) + (extra or [])
    if problems:
        raise ValidationFailed.fields(problems)


def _fill(record: TemplateRecord, data: TemplateIn, now: datetime) -> None:
    scope = rules.Scope.of(data.scope.store_ids, data.scope.traffic_tiers, data.scope.spend_tiers)
    record.title, record.kind, record.value = data.title, data.kind, data.value
    record.min_spend_fen = data.min_spend_fen
    record.scope_store_ids = list(data.scope.store_ids)
    record.scope_traffic_tiers = sorted(set(data.scope.traffic_tiers))
    record.scope_spend_tiers = sorted(set(data.scope.spend_tiers))
    record.per_member_limit = data.per_member_limit
    record.claim_start, record.claim_end = data.claim_start, data.claim_end
    record.valid_days, record.valid_until = data.valid_days, data.valid_until
    record.boost_value = data.member_day_boost.value if data.member_day_boost else None
    record.audience_tiers = sorted(set(data.audience.tiers)) if data.audience and data.audience.tiers else None
    record.audience_segments = (sorted(set(data.audience.segments))
                                if data.audience and data.audience.segments else None)
    record.index_buckets = rules.template_buckets(scope)
    record.updated_at = now


def _write_index(template_id: str, buckets: list[str], claim_end: datetime) -> None:
    """The stores named by the scope get their own-offers mark first
    (`own_offers`: the scheduler reads a store's own bucket only under one)."""
    own_offers.mark_buckets(buckets, index_key(claim_end))
    sk = f"{index_key(claim_end)}#{template_id}"
    with TemplateIndexEntry.batch_write() as batch:
        for bucket in buckets:
            batch.save(TemplateIndexEntry(bucket, sk, template_id=template_id))


def _drop_index(template_id: str, buckets: list[str], claim_end: datetime) -> None:
    sk = f"{index_key(claim_end)}#{template_id}"
    with TemplateIndexEntry.batch_write() as batch:
        for bucket in buckets:
            batch.delete(TemplateIndexEntry(bucket, sk))


def _drop_stale_index(template_id: str, buckets: list[str], claim_end: datetime, saved_version: int) -> None:
    """Only the latest edit may drop index entries. Timeline guarded against:
    A saves v2 (new buckets), B saves v3 back onto the old buckets and writes
    their entries, then A drops the old buckets: B's template would vanish
    from offers. The delete commits only while the template is still A's v2."""
    if not buckets:
        return
    sk = f"{index_key(claim_end)}#{template_id}"
    tx = Transaction()
    tx.check("template", TemplateRecord, template_id, condition=TemplateRecord.version == saved_version)
    for bucket in buckets:
        tx.delete("index", TemplateIndexEntry(bucket, sk))
    for _ in retry.attempts(what="the template edit"):
        try:
            tx.commit()
            return
        except Contended:
            continue
        except Refused as exc:
            if not exc.on("template"):
                raise
            return  # a newer edit owns the index now and drops what it made stale itself


def save_transaction(record: TemplateRecord, condition: Any = None) -> Transaction:
    """ONE transaction that saves `record` (versioned: refused as "template"
    if it was saved since we read it) and gives every stock shard the
    version and status the template gets, so claims guarded on a shard
    (coupons/terms.py) see every save: edit, pause, resume, end. A template
    and all its shards are at most `shards.TRANSACTION_ITEMS` items
    (enforced at creation: `shards.MAX_SHARDS`; re-checked here).

    The template is written whole (a PutItem, conditioned on the version
    read): `Transaction.update` re-applies its actions on a re-send, and a
    VersionAttribute appends its increment to them each time."""
    tx = Transaction()
    if record.total_stock is not None and record.stock_shards:
        n = int(record.stock_shards)
        shards.check_fits(n)
        record.shard_guard = 1
        version = int(record.version or 0) + 1  # what the versioned put below writes
        status = record.status or "active"
        _stamp_shards(tx, record, n, version, status)
    tx.put("template", record, condition=condition)
    return tx


def _stamp_shards(tx: Transaction, record: TemplateRecord, n: int, version: int, status: str) -> None:
    spread = bool(record.shard_keys)
    for shard in range(n):
        tx.update("shard", stock_shard(record.template_id, shard, spread),
                  [StockShard.tpl_version.set(version), StockShard.tpl_status.set(status)],
                  condition=StockShard.template_id.exists())


def commit_save(record: TemplateRecord, condition: Any = None) -> None:
    """`save_transaction` committed under `retry.attempts()` (a new token per
    attempt: a Contended attempt wrote nothing). Raises Refused("template")
    if the template moved on (the caller says 409 or 412)."""
    for _ in retry.attempts(what="the template save"):
        try:
            save_transaction(record, condition).commit()
            return
        except Contended:
            continue
    raise AssertionError("retry.attempts() ends by raising")


def resync_shards(template_id: str) -> None:
    """Repair shards left behind their template's version. Every save goes
    through `commit_save`, so this happens only if something wrote the
    template item another way (a script's `TemplateRecord.update` bumps the
    version too): then every claim would be refused on the shards until the
    next save. A claim that finds a shard BEHIND the template calls this:
    one transaction re-stamps every shard with the template's current
    version and status, conditioned on that version still being current (a
    save racing it wins, and stamps the shards itself)."""
    record = get_template(template_id)
    if record.total_stock is None or not record.stock_shards or not record.shard_guard:
        return
    n = int(record.stock_shards)
    shards.check_fits(n)
    tx = Transaction()
    tx.check("template", TemplateRecord, template_id, condition=TemplateRecord.version == record.version)
    _stamp_shards(tx, record, n, int(record.version), record.status or "active")
    try:
        tx.commit()
    except (Contended, Refused):
        return  # a save moved the template on (and stamped the shards), or a claim held one: the caller retries


def create_template(data: TemplateIn, now: datetime, template_id: str | None = None) -> TemplateRecord:
    """Create a template (the public entry point for other capabilities too,
    e.g. campaigns creating a clearance coupon). Pass a deterministic
    `template_id` to make a retried creation safe: the second one raises
    TemplateExists and writes nothing. Without one, a request with an
    Idempotency-Key derives the id from the key and the terms, so its retry
    after a lost answer finds its own template instead of making a second."""
    _validate(data)
    derived = None if template_id else request_scope.derived_id("tpl-", "create-template", data.model_dump_json())
    record = TemplateRecord(template_id or derived or f"tpl-{secrets.token_hex(8)}")
    _fill(record, data, now)
    record.created_at = now
    record.status, record.list_key = "active", LIST_KEY
    record.created_key = f"{index_key(now)}#{record.template_id}"
    record.total_stock = data.total_stock
    tx = Transaction()
    if data.total_stock is not None:
        record.stock_shards = shards.shard_count(data.total_stock, data.stock_shards)
        shards.check_fits(int(record.stock_shards))
        record.shard_guard = 1  # the shards carry version 1 (what the first save writes) and status
        record.shard_keys = 1  # each shard its own partition key
        for shard, units in enumerate(shards.split_stock(data.total_stock, int(record.stock_shards))):
            item = stock_shard(record.template_id, shard, True, remaining=units, initial=units, tpl_version=1,
                               tpl_status="active")
            tx.put("shard", item, condition=StockShard.template_id.does_not_exist())
    _write_index(record.template_id, record.index_buckets, record.claim_end)
    # The template and all its stock appear together, or not at all.
    tx.put("template", record, condition=TemplateRecord.template_id.does_not_exist())
    for _ in retry.attempts(what="the template creation"):
        try:
            tx.commit()
            return record
        except Contended:
            continue
        except Refused:
            if derived is not None:
                return get_template(record.template_id)  # our own earlier commit: the same answer
            raise TemplateExists(f"template {record.template_id} already exists") from None
    raise AssertionError("retry.attempts() ends by raising")


def update_template(template_id: str, data: TemplateIn, now: datetime,
                    if_match: str | None = None) -> TemplateRecord:
    """Replace a template's terms. Stock is fixed at creation (a shard read
    as empty must stay empty for sold-out detection). Coupons already issued
    keep the terms they were issued with. With `If-Match`, a stale version
    is 412 (checked on the version read, and enforced by the versioned save).
    The stock shards take the new version in the same transaction."""
    record = get_template(template_id)
    etags.require(if_match, etags.of_version(int(record.version)))
    extra = []
    if data.total_stock != record.total_stock:
        extra.append({"field": "total_stock", "problem": "cannot change after creation; create a new template"})
    if data.stock_shards is not None and data.stock_shards != record.stock_shards:
        extra.append({"field": "stock_shards", "problem": "cannot change after creation"})
    _validate(data, extra)
    old_buckets, old_end = list(record.index_buckets or []), record.claim_end
    _fill(record, data, now)
    _write_index(template_id, record.index_buckets, record.claim_end)
    try:
        commit_save(record)  # versioned: refused if someone else saved since our read; shards follow
    except Refused as exc:
        if exc.on("template"):
            raise (EditConflict() if if_match is None else etags.PreconditionFailed()) from None
        raise
    stale = [b for b in old_buckets if b not in record.index_buckets or old_end != record.claim_end]
    _drop_stale_index(template_id, stale, old_end, int(record.version))
    return record


def lifecycle_status(record: TemplateRecord, now: datetime) -> str:
    """`active | paused | ended`: ended by hand, or once its claim window closed."""
    if record.status == "ended" or now >= record.claim_end:
        return "ended"
    return record.status or "active"


def check_claimable(record: TemplateRecord) -> None:
    """Refuse claims on a paused or ended template (before any write). A
    pause racing a claim in flight is ordered by the claim's own read."""
    if record.status == "paused":
        raise TemplatePaused()
    if record.status == "ended":
        raise Ended("this coupon was ended by the operator")


def get_template(template_id: str) -> TemplateRecord:
    try:
        return TemplateRecord.get(template_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound(f"coupon template {template_id} not found") from exc


def shard_stock(record: TemplateRecord) -> dict[int, int]:
    """Every shard's remaining stock, strongly consistent: one BatchGetItem
    of the shards' keys (at most 99), or one Query for a template whose
    shards share its partition key."""
    if record.total_stock is None or not record.stock_shards:
        return {}
    if not record.shard_keys:
        return {int(s.shard): int(s.remaining)
                for s in StockShard.query(record.template_id, consistent_read=True)}
    keys = [(stock_shard(record.template_id, k, True).template_id, k) for k in range(int(record.stock_shards))]
    return {int(s.shard): int(s.remaining) for s in StockShard.batch_get(keys, consistent_read=True)}


def stock_left(template_id: str) -> int:
    """Units left over all shards (tests, benches, the console)."""
    return sum(shard_stock(get_template(template_id)).values())


def remaining(record: TemplateRecord) -> int | None:
    return None if record.total_stock is None else sum(shard_stock(record).values())


def to_view(record: TemplateRecord, left: int | None) -> Template:
    return Template(
        template_id=record.template_id, title=record.title, kind=record.kind,  # type: ignore[arg-type]
        value=int(record.value), min_spend_fen=int(record.min_spend_fen),
        scope=Scope(store_ids=list(record.scope_store_ids or []),
                    traffic_tiers=list(record.scope_traffic_tiers or []),
                    spend_tiers=list(record.scope_spend_tiers or [])),
        total_stock=None if record.total_stock is None else int(record.total_stock),
        stock_shards=None if record.stock_shards is None else int(record.stock_shards),
        remaining=left, per_member_limit=int(record.per_member_limit),
        claim_start=record.claim_start, claim_end=record.claim_end,
        valid_days=None if record.valid_days is None else int(record.valid_days),
        valid_until=record.valid_until,
        member_day_boost=BoostIn(value=int(record.boost_value)) if record.boost_value is not None else None,
        audience=AudienceIn(tiers=list(record.audience_tiers or []),  # type: ignore[arg-type]
                            segments=list(record.audience_segments or []))  # type: ignore[arg-type]
        if record.audience_tiers or record.audience_segments else None,  # type: ignore
        created_at=record.created_at, updated_at=record.updated_at, version=int(record.version or 0),
        status=lifecycle_status(record, get_clock().now()),  # type: ignore[arg-type]
    )
