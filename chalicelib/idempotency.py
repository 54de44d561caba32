"""`Idempotency-Key` on POSTs: a retry with the same key and body gets the
first answer back and changes nothing more (the model is Powertools'
idempotency utility and Stripe's header).

One record per (caller, route, key), in its own table:

  first request:  put-if-absent {in_progress, body hash, lease}  -> run the
                  handler inside `request_scope.scope(...)` (services derive
                  deterministic ids and ClientRequestTokens from the key)
                  -> 2xx: record := {done, status, body, ETag}; error: record deleted
  a retry:        done, same body        -> the stored answer and ETag, `Idempotent-Replayed: true`
                  done/in progress, other body -> 422 idempotency_key_reused
                  in progress, lease live -> 409 request_in_progress + Retry-After
                  in progress, lease over -> taken over (guarded), handler re-runs

The last line is the crash case: the handler committed, then the process
died before storing the answer. The re-run writes the same deterministic
ids, recognises its own earlier commit and answers as the first attempt
would have; that is each write path's job, documented in docs/reliability.md.
Errors are not stored (a retry re-runs, as Powertools does): refusals are
deterministic, and a 503 must be retryable.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from chalice import Response
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, UpdateError
from pynamodb.models import Model

from chalicelib import logs, request_scope, retry, txn
from chalicelib.errors import Conflict, StoreloopError, ValidationFailed

log = logs.get_logger("idempotency")

HEADER = "idempotency-key"
KEEP_FOR = timedelta(hours=24)
LEASE = timedelta(seconds=retry.REQUEST_BUDGET_S + 10)  # the first request has given up by then
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_MAX_STORED_BODY = 300_000  # DynamoDB items stop at 400 KB


class IdempotencyRecord(Model):
    BASE_NAME = "idempotency"

    class Meta:
        table_name = "idempotency"

    record_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()  # in_progress | done
    body_hash = UnicodeAttribute()
    lease_until = UTCDateTimeAttribute()
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    response_etag = UnicodeAttribute(null=True)  # the first answer's ETag, replayed with it
    owner = UnicodeAttribute(null=True)  # which request holds it: our own lost-answer put is ours, not a rival
    expires_at = TTLAttribute()


MODELS = [IdempotencyRecord]


class KeyReused(StoreloopError):
    status, code, default_message = 422, "idempotency_key_reused", \
        "this Idempotency-Key was used with a different request body"


class InProgress(Conflict):
    code, default_message = "request_in_progress", "a request with this Idempotency-Key is still running"

    retry_after_s = 1


def scope_key(caller: str, route: str, key: str) -> str:
    """Keys are the client's: one caller's key never meets another's."""
    return "\x1f".join((caller, route, key))


def run(route: str, caller: str, key: str | None, raw_body: bytes | str | None, now: datetime,
        handle: Callable[[], Response]) -> Response:
    if not key:  # absent or empty: no idempotency asked for
        return handle()
    if not _KEY_RE.match(key):
        raise ValidationFailed.field("Idempotency-Key", "must be 1-255 visible ASCII characters")
    scoped = scope_key(caller, route, key)
    record = IdempotencyRecord(txn.token_for(scoped), status="in_progress", body_hash=_hash(raw_body),
                               lease_until=now + LEASE, expires_at=now + KEEP_FOR, owner=uuid.uuid4().hex)
    existing = txn.put_if_absent(record, "record_id")
    if existing is not None and existing.owner != record.owner:
        if existing.body_hash != record.body_hash:
            raise KeyReused()
        if existing.status == "done":
            return _replay(existing)
        _take_over(record, now)
    try:
        with request_scope.scope(scoped):
            response = handle()
    except BaseException:
        with contextlib.suppress(Exception):  # if this fails too, the lease runs out and a retry takes over
            _forget(record)
        raise
    try:
        _remember(record, response)
    except Exception:  # noqa: BLE001 - the write committed: answer it; a retry re-runs and recognises it
        log.warning("idempotency record not saved", exc_info=True)
    return response


def _hash(raw_body: bytes | str | None) -> str:
    data = raw_body.encode() if isinstance(raw_body, str) else (raw_body or b"")
    return hashlib.sha256(data).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json; charset=utf-8",
                                           "Idempotent-Replayed": "true"}
    if record.response_etag:
        headers["ETag"] = record.response_etag
    return Response(body=record.response_body or "", status_code=int(record.response_status or 200), headers=headers)


def _take_over(record: IdempotencyRecord, now: datetime) -> None:
    """An in-progress record whose lease ran out belonged to a request that
    died; exactly one retry may take it over."""
    try:
        txn.resending(lambda: record.update(
            actions=[IdempotencyRecord.lease_until.set(now + LEASE), IdempotencyRecord.owner.set(record.owner)],
            condition=(IdempotencyRecord.status == "in_progress") & (
                (IdempotencyRecord.lease_until < now) | (IdempotencyRecord.owner == record.owner))))
    except UpdateError as exc:
        if txn.is_condition_failure(exc):
            raise InProgress() from exc
        raise


def _remember(record: IdempotencyRecord, response: Response) -> None:
    if response.status_code >= 300:
        _forget(record)
        return
    body = response.body if isinstance(response.body, str) else json.dumps(response.body, ensure_ascii=False)
    if len(body) > _MAX_STORED_BODY:
        _forget(record)  # too large to keep: a retry re-runs and the write paths recognise their commits
        return
    etag = next((str(v) for k, v in (response.headers or {}).items() if k.lower() == "etag"), None)
    txn.resending(lambda: record.update(actions=[
        IdempotencyRecord.status.set("done"), IdempotencyRecord.response_status.set(response.status_code),
        IdempotencyRecord.response_body.set(body),
        *([IdempotencyRecord.response_etag.set(etag)] if etag else [])]))


def _forget(record: IdempotencyRecord) -> None:
    try:
        txn.resending(lambda: record.delete(condition=(IdempotencyRecord.status == "in_progress")
                                            & (IdempotencyRecord.owner == record.owner)))
    except DeleteError as exc:
        if not txn.is_condition_failure(exc):
            raise
