"""One way to write a DynamoDB transaction and to read its outcome.

Every guarded multi-item write in Storeloop goes through `Transaction`:
items carry labels, and `commit()` answers in exactly one of four ways:

- returns: committed (possibly by an earlier send whose answer was lost; see
  below);
- raises `Refused`: a `ConditionalCheckFailed` on one or more named items.
  Nothing was written. This is the only cancellation that is a domain
  outcome; `Refused.old(label)` hands back the item as it stood (ask for it
  with `old=True`), so "it already exists" needs no re-read;
- raises `Contended`: cancelled by a `TransactionConflict` (another
  transaction held an item) or item-level throttling, and nothing failed a
  condition. Nothing was written; the caller re-reads if it must and tries
  again under `retry.attempts()`;
- re-raises anything else (a bug, a validation error, a missing table).

Lost answers. DynamoDB can commit a transaction and the answer never reach
us (a 500 after commit, a timeout, a dropped connection). botocore re-sends
the same request, and so does `commit()` once botocore gives up, always
with the same `ClientRequestToken` and the same items: DynamoDB then answers
"success" for a transaction it already applied (idempotency window: 10
minutes) instead of applying it twice or cancelling it against its own
writes. The token is derived from the caller's idempotency key where there
is one (`token_for`), so a client's retry of the whole HTTP request reuses
it too. Timeline this guards against (a claim, stock 1):

  send #1 (token T): commits: stock 1 -> 0, coupon C put; answer lost
  botocore re-sends T: lost again ... botocore gives up (InternalServerError)
  commit() re-sends T with identical items: DynamoDB: already done -> 200
  without T: re-send #2 would be cancelled on `stock > 0` and the member
  told "sold out" for the coupon they hold.

Timeline for a re-send after the window or with new items (a new token):
callers make the write recognisable instead (a deterministic id, `old=True`)
and treat "it is already there, and it is mine" as success.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import db, retry

CONDITION_FAILED = "ConditionalCheckFailed"
# per-item cancellation codes that mean "lost a race, nothing written"
_CONTENTION_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# whole-call errors after botocore's own retries: the outcome is unknown (or
# nothing happened); re-sending the same token is safe either way
_RESEND_ERRORS = frozenset({
    "InternalServerError", "ServiceUnavailable", "ThrottlingException", "ProvisionedThroughputExceededException",
    "RequestLimitExceeded", "TransactionInProgressException", "TransactionConflictException",
})

M = TypeVar("M", bound=Model)
T = TypeVar("T")


def token_for(*parts: str) -> str:
    """A ClientRequestToken (≤ 36 chars) that is the same for the same parts:
    pass the request's idempotency key and what distinguishes this write."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:36]


@dataclass(frozen=True)
class _Item:
    label: str
    kind: str  # check | delete | put | update (DynamoDB reports reasons in PynamoDB's order of kinds)
    apply: Callable[[TransactWrite], None]
    model_cls: type[Model]


_KIND_ORDER = ("check", "delete", "put", "update")


class Refused(Exception):
    """A named guard failed: nothing was written."""

    def __init__(self, failed: dict[str, dict[str, Any] | None], classes: dict[str, type[Model]]):
        super().__init__(f"condition failed on {', '.join(sorted(failed))}")
        self.failed = failed  # label -> raw old item (when asked for with old=True)
        self._classes = classes

    def on(self, label: str) -> bool:
        return label in self.failed

    def old(self, label: str) -> Any:
        """The item as it stood when its condition failed (None if absent or not asked for)."""
        raw = self.failed.get(label)
        if not raw:
            return None
        return self._classes[label].from_raw_data(raw)


class Contended(Exception):
    """Cancelled by contention; nothing was written. Try again (re-read first if needed)."""


class Transaction:
    """A labelled TransactWriteItems request that can be re-sent unchanged.
    A label names an item's role; several items may share one ("shard")."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or str(uuid.uuid4())
        self._items: list[_Item] = []

    def check(self, label: str, model_cls: type[Model], hash_key: Any, range_key: Any = None, *,
              condition: Any) -> None:
        self._add(label, "check", model_cls,
                  lambda tx: tx.condition_check(model_cls, hash_key, range_key, condition=condition))

    def put(self, label: str, model: Model, *, condition: Any = None, old: bool = False) -> None:
        self._add(label, "put", type(model),
                  lambda tx: tx.save(model, condition=condition, return_values="ALL_OLD" if old else None))

    def update(self, label: str, model: Model, actions: list[Any], *, condition: Any = None,
               old: bool = False) -> None:
        # a fresh list per send: PynamoDB appends a versioned model's version
        # increment to the list it is given, so a re-send would carry two
        self._add(label, "update", type(model),
                  lambda tx: tx.update(model, actions=list(actions), condition=condition,
                                       return_values="ALL_OLD" if old else None))

    def delete(self, label: str, model: Model, *, condition: Any = None) -> None:
        self._add(label, "delete", type(model), lambda tx: tx.delete(model, condition=condition))

    def _add(self, label: str, kind: str, model_cls: type[Model], apply: Callable[[TransactWrite], None]) -> None:
        self._items.append(_Item(label, kind, apply, model_cls))

    @property
    def labels(self) -> list[str]:
        """In the order DynamoDB reports cancellation reasons."""
        return [item.label for item in self._ordered()]

    def _ordered(self) -> list[_Item]:
        return sorted(self._items, key=lambda item: _KIND_ORDER.index(item.kind))

    def _send(self) -> None:
        with TransactWrite(connection=db.connection(), client_request_token=self.token) as tx:
            for item in self._items:
                item.apply(tx)

    def commit(self) -> None:
        """Send until DynamoDB gives a definite answer (see the module doc)."""
        for _ in retry.attempts(what="the write"):
            try:
                self._send()
                return
            except TransactWriteError as exc:
                if not _outcome_unknown(exc):
                    raise self._decode(exc) from exc
                # unknown outcome: the same token and items again (idempotent at DynamoDB)

    def _decode(self, exc: TransactWriteError) -> Exception:
        if exc.cause_response_code != "TransactionCanceledException":
            return exc
        failed: dict[str, dict[str, Any] | None] = {}
        contended = False
        for item, reason in zip(self._ordered(), exc.cancellation_reasons or [], strict=False):
            if reason is None:
                continue
            if reason.code == CONDITION_FAILED:
                failed[item.label] = failed.get(item.label) or reason.raw_item
            elif reason.code in _CONTENTION_REASONS:
                contended = True
        if failed:
            return Refused(failed, {item.label: item.model_cls for item in self._items})
        if contended:
            return Contended()
        return exc


TRANSACTION_ITEMS = 100  # TransactWriteItems' limit


@dataclass(frozen=True)
class EachCommitted:
    """What `commit_each` did: the labels it committed, and the labels their
    own guard refused, each with the item as it stood (when the put or
    update asked for it with `old=True`; else None)."""

    committed: list[str]
    refused: dict[str, Any]


def commit_each(build: Callable[[list[str]], Transaction], labels: list[str], what: str) -> EachCommitted:
    """Commit `build(labels)`, one transaction in which each label guards
    its own item, so that one item's refusal never decides another's: on
    `Refused` the refused labels leave and `build` makes the transaction
    again from the labels left (anything else in it, e.g. counters, is
    rebuilt for those only), re-committed at once under a new token (a
    refusal is an answer, not contention: nothing to wait for); only
    `Contended` backs off (`retry.attempts`). A refusal of a label not in
    `labels` (a guard on a shared item) is no one item's: it is re-raised.
    A re-send after a lost answer meets its own writes, so each guard must
    admit or recognise them (see `put_each`, `posts.create_many`)."""
    pending = list(labels)
    refused: dict[str, Any] = {}
    backoff = retry.attempts(what=what)
    next(backoff)  # the first attempt: no wait
    while pending:
        try:
            build(pending).commit()
            return EachCommitted(committed=pending, refused=refused)
        except Refused as exc:
            dropped = [label for label in pending if exc.on(label)]
            if not dropped:
                raise
            refused.update((label, exc.old(label)) for label in dropped)
            pending = [label for label in pending if not exc.on(label)]
        except Contended:
            next(backoff)  # sleeps with full jitter; raises Unavailable past the budget
    return EachCommitted(committed=[], refused=refused)


def put_each(items: list[tuple[Model, Any]], what: str) -> int:
    """Put many items (distinct keys), each under its own condition, up to
    100 per transaction. An item its condition refuses is left as it stands
    (e.g. a newer version holds it) and the rest of its transaction is
    committed without it (`commit_each`). Returns how many were written. A
    re-send after a lost answer meets its own writes, so each condition must
    admit the same item again (`version <= ours`, not `<`)."""
    written = 0
    for first in range(0, len(items), TRANSACTION_ITEMS):
        chunk = {str(n): put for n, put in enumerate(items[first:first + TRANSACTION_ITEMS])}

        def build(labels: list[str], chunk: dict[str, tuple[Model, Any]] = chunk) -> Transaction:
            tx = Transaction()
            for label in labels:
                item, condition = chunk[label]
                tx.put(label, item, condition=condition)
            return tx

        written += len(commit_each(build, list(chunk), what).committed)
    return written


def _outcome_unknown(exc: TransactWriteError) -> bool:
    if isinstance(exc.cause, BotoCoreError):  # timeout, dropped connection: may have committed
        return True
    return exc.cause_response_code in _RESEND_ERRORS


def is_condition_failure(exc: Exception) -> bool:
    """For a single-item conditional write (PutItem/UpdateItem/DeleteItem)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def put_if_absent(model: M, key_attr: str) -> M | None:
    """PutItem `model` unless an item with its key exists (one request).
    Returns None when written, else the item that was already there, from
    the refusal itself (ReturnValuesOnConditionCheckFailure=ALL_OLD: no
    re-read). A write whose answer was lost is re-sent under the retry
    budget; its own earlier commit then comes back as "already there", so
    callers that must tell "mine" from "someone else's" put a token in the
    item and compare (see `campaigns/posts.create`)."""
    client = db.connection().client  # binds table names first
    cls = type(model)
    request = {
        "TableName": cls.Meta.table_name,
        "Item": model.serialize(),
        "ConditionExpression": "attribute_not_exists(#k)",
        "ExpressionAttributeNames": {"#k": key_attr},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    for _ in retry.attempts(what="the write"):
        try:
            client.put_item(**request)
            return None
        except client.exceptions.ConditionalCheckFailedException as exc:
            return cls.from_raw_data(exc.response["Item"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _RESEND_ERRORS:
                raise
        except BotoCoreError:
            pass  # timeout or dropped connection: the put may have committed; re-send it
    raise AssertionError("retry.attempts ends by raising")


def is_transient(exc: BaseException) -> bool:
    """DynamoDB was unhealthy (5xx, throttling, a dropped connection) past
    botocore's retries: the request may be retried as a whole (503)."""
    cause = getattr(exc, "cause", exc)
    if isinstance(cause, BotoCoreError):
        return True
    code = getattr(exc, "cause_response_code", None)
    if code is None and isinstance(cause, ClientError):
        code = cause.response.get("Error", {}).get("Code")
    return code in _RESEND_ERRORS


def resending(write: Callable[[], T]) -> T:
    """Run a single-item write, re-sending it while DynamoDB is unhealthy
    (within the request's budget). Only for writes that are safe to repeat:
    conditional ones whose repeat fails its own condition, or idempotent SETs."""
    for _ in retry.attempts(what="the write"):
        try:
            return write()
        except Exception as exc:
            if not is_transient(exc):
                raise
    raise AssertionError("retry.attempts ends by raising")
