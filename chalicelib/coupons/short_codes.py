"""Short numeric codes staff can type when a QR will not scan.

A claimed coupon gets 10 random digits (9·10⁹ possibilities), reserved by a
`ShortCodeRecord` put in the claim's own transaction with
`attribute_not_exists(short_code) OR expires_at < now`: two live coupons
never share a code (a collision cancels the claim, which retries with new
digits), and an expired coupon's code may be reused.

Digits are guessable in a way 128-bit MACs are not, so wrong guesses are
rate-limited per staff member: a `GuessCounter` per staff and 10-minute
window, bumped with a guarded ADD (`n < WRONG_GUESS_LIMIT`). Timeline:

  staff S types 10 wrong codes in a window: n 0 -> 10, each answered invalid_code
  S types an 11th (right or wrong): the consistent read sees n = 10 -> 429
  two wrong guesses race at n = 9: one ADD commits (n = 10), the other's
  condition fails -> 429. The counter never passes the limit, and at most
  the requests already in flight past the read can still be answered.

Each counted guess adds its own token to the counter (`NOT contains`), so a
re-send of an ADD whose answer was lost counts once. Timeline:

  wrong guess G (token t): ADD n 1, guesses {t} commits (n 3 -> 4); answer lost
  re-send of G (same t, by botocore, `resending`, or the client's retry
  with the same Idempotency-Key): condition `NOT contains(guesses, t)` fails;
  the refusal's ALL_OLD item holds t: already counted -> invalid_code, n = 4
  without the token: n 4 -> 5, one guess counted twice.

With 10 guesses per 10 minutes per staff account, finding one of a million
live coupons takes ~900 staff-days of guessing per hit on average.

Cost: the reservation carries the coupon's signed code (v2, its terms
inside), so a typed code costs one BatchGetItem (the staff's guess counter
and the short-code item, both strongly consistent) and then the same
single-transaction redemption as a scanned one: 2 requests, not 4."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib import db, request_scope
from chalicelib.auth import Principal
from chalicelib.coupons import codes
from chalicelib.coupons.errors import InvalidCode, TooManyGuesses
from chalicelib.coupons.models import CouponRecord, GuessCounter, ShortCodeRecord
from chalicelib.coupons.redemptions import code_for
from chalicelib.txn import resending, token_for

M = TypeVar("M", bound=Model)
DIGITS = 10
WRONG_GUESS_LIMIT = 10
GUESS_WINDOW = timedelta(minutes=10)
KEEP_AFTER_EXPIRY = timedelta(days=1)
_SHORT = re.compile(r"^\d{8,10}$")


def new_code() -> str:
    return str(10 ** (DIGITS - 1) + secrets.randbelow(9 * 10 ** (DIGITS - 1)))


def is_short(code: str) -> bool:
    return bool(_SHORT.match(code.strip().replace(" ", "")))


def reservation(coupon: CouponRecord) -> ShortCodeRecord:
    """The item the claim transaction puts (with `free(now)` as its condition)."""
    assert coupon.short_code is not None
    return ShortCodeRecord(coupon.short_code, coupon_id=coupon.coupon_id, expires_at=coupon.expires_at,
                           ttl=coupon.expires_at + KEEP_AFTER_EXPIRY, code=code_for(coupon))


def free(now: datetime) -> object:
    return ShortCodeRecord.short_code.does_not_exist() | (ShortCodeRecord.expires_at < now)


def _window_key(staff: Principal, now: datetime) -> tuple[str, datetime]:
    step = int(GUESS_WINDOW.total_seconds())
    start = int(now.timestamp()) // step * step
    return f"{staff.sub}#{start}", datetime.fromtimestamp(start, now.tzinfo) + GUESS_WINDOW


def _lookup(staff: Principal, digits: str, now: datetime) -> tuple[bool, ShortCodeRecord | None]:
    """(locked out?, the short code's item) in one BatchGetItem, both reads
    strongly consistent. Keys DynamoDB leaves unprocessed (throttling) are
    read one by one."""
    key, _ = _window_key(staff, now)
    client = db.connection().client  # binds the models to this deployment's tables first
    wanted = {GuessCounter.Meta.table_name: {"key": {"S": key}},
              ShortCodeRecord.Meta.table_name: {"short_code": {"S": digits}}}
    reply = client.batch_get_item(RequestItems={
        table: {"Keys": [item_key], "ConsistentRead": True} for table, item_key in wanted.items()})
    found = {table: items[0] for table, items in reply.get("Responses", {}).items() if items}
    unprocessed = reply.get("UnprocessedKeys") or {}
    guesses = _from_batch(GuessCounter, key, found, unprocessed)
    reserved = _from_batch(ShortCodeRecord, digits, found, unprocessed)
    return guesses is not None and int(guesses.n or 0) >= WRONG_GUESS_LIMIT, reserved


def _from_batch(model: type[M], hash_key: str, found: dict[str, Any], unprocessed: dict[str, Any]) -> M | None:
    table = model.Meta.table_name
    if table in unprocessed:
        try:
            return model.get(hash_key, consistent_read=True)
        except DoesNotExist:
            return None
    return model.from_raw_data(found[table]) if table in found else None


def _wait(staff: Principal, now: datetime) -> TooManyGuesses:
    _, window_end = _window_key(staff, now)
    return TooManyGuesses(int((window_end - now).total_seconds()) + 1)


def _count_wrong_guess(staff: Principal, digits: str, now: datetime) -> None:
    key, window_end = _window_key(staff, now)
    # the same on every send of this guess (and on a retried request with its key)
    guess = token_for(request_scope.idempotency_key() or uuid.uuid4().hex, "wrong-guess", staff.sub, digits)
    client = db.connection().client  # binds the models to this deployment's tables first
    request = {
        "TableName": GuessCounter.Meta.table_name,
        "Key": {"key": {"S": key}},
        "UpdateExpression": "ADD #n :one, #g :guess SET #ttl = :ttl",
        "ConditionExpression": "(attribute_not_exists(#n) OR #n < :limit) AND NOT contains(#g, :token)",
        "ExpressionAttributeNames": {"#n": "n", "#g": "guesses", "#ttl": "ttl"},
        "ExpressionAttributeValues": {
            ":one": {"N": "1"}, ":limit": {"N": str(WRONG_GUESS_LIMIT)}, ":guess": {"SS": [guess]},
            ":token": {"S": guess}, ":ttl": {"N": str(int((window_end + GUESS_WINDOW).timestamp()))}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        resending(lambda: client.update_item(**request))
    except client.exceptions.ConditionalCheckFailedException as exc:
        if guess in exc.response.get("Item", {}).get("guesses", {}).get("SS", []):
            return  # our own earlier send committed: counted once
        raise _wait(staff, now) from exc


def _reserved(code: str, staff: Principal, now: datetime) -> ShortCodeRecord:
    digits = code.strip().replace(" ", "")
    locked, reserved = _lookup(staff, digits, now)
    if locked:
        raise _wait(staff, now)
    if reserved is not None:
        return reserved  # expired but not yet reused: still names its coupon (redeem says "expired")
    _count_wrong_guess(staff, digits, now)
    raise InvalidCode("no live coupon has this short code")


def coupon_id_for(code: str, staff: Principal, key: bytes, now: datetime) -> str:
    """The coupon a typed or scanned code names. Signed codes are checked by
    their MAC (no lookup); short codes by a lookup that counts misses."""
    if not is_short(code):
        return codes.verify(code, key)
    return _reserved(code, staff, now).coupon_id


def to_signed(code: str, staff: Principal, key: bytes, now: datetime) -> str:
    """The signed code for a short one (so redemption keeps one input path):
    the v2 code stored with the reservation, or a v1 code for reservations
    made before codes carried terms."""
    if not is_short(code):
        return code
    reserved = _reserved(code, staff, now)
    if reserved.code:
        try:
            codes.read(reserved.code, key)
            return reserved.code
        except InvalidCode:
            pass  # signed under a key since rotated: the id is still ours to sign
    return codes.sign(reserved.coupon_id, key)
