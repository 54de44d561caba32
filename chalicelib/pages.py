"""Cursor pagination over an index Query (never a Scan).

A cursor is the Query's `LastEvaluatedKey`, serialised and signed with a
key derived from the JWT secret (domain-separated, like coupon codes) and
bound to the list it came from (`kind`), so a client cannot hand-craft
start keys into another list or index: a bad or foreign cursor is 400
`validation_error`. PynamoDB resumes mid-page from the last item it
returned, so a page never skips or repeats an item (items inserted after a
page was read show up later if they sort after the cursor).

Filters run server-side on each Query page (FilterExpression). Once a page
has evaluated `MAX_READ` index items it stops at the next match, so a
filter gives a short page with a `next_cursor` rather than a long walk.
(A filter matching nothing still reads the index to its end: it is one
partition of one index, and the docs say so.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import Field

from chalicelib.errors import ValidationFailed
from chalicelib.schema import ApiModel
from chalicelib.settings import get_settings

T = TypeVar("T")
MAX_READ = 1000  # index items evaluated per page, at most (bounds a filtered page's cost)
_LABEL = b"storeloop/list-cursor/v1"


class PageQuery(ApiModel):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=2000, description="next_cursor of the previous page")


def _key() -> bytes:
    return hmac.new(get_settings().jwt_secret.encode(), _LABEL, hashlib.sha256).digest()


def _mac(kind: str, payload: bytes) -> str:
    digest = hmac.new(_key(), kind.encode() + b"\x1f" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_cursor(kind: str, last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    payload = base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode())
    text = payload.decode().rstrip("=")
    return f"{text}.{_mac(kind, text.encode())}"


def decode_cursor(kind: str, cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    text, _, mac = cursor.partition(".")
    if not text or not mac or not hmac.compare_digest(mac, _mac(kind, text.encode())):
        raise ValidationFailed.field("cursor", "not a cursor from this list; start again without one")
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except ValueError as exc:  # pragma: no cover - a valid MAC over bad JSON cannot happen
        raise ValidationFailed.field("cursor", "malformed") from exc
    if not isinstance(value, dict):
        raise ValidationFailed.field("cursor", "malformed")
    return value


class Page(Generic[T]):
    def __init__(self, items: list[T], next_cursor: str | None):
        self.items = items
        self.next_cursor = next_cursor


def query_page(kind: str, query: Callable[..., Any], hash_key: Any, page: PageQuery, *,
               range_condition: Any = None, filter_condition: Any = None, forward: bool = True) -> Page[Any]:
    """One page of `query(hash_key, ...)` (a Model or index `.query`)."""
    start = decode_cursor(kind, page.cursor)
    results = query(hash_key, range_condition, filter_condition=filter_condition, limit=page.limit,
                    page_size=min(MAX_READ, max(page.limit * 4, 25) if filter_condition is not None else page.limit),
                    last_evaluated_key=start, scan_index_forward=forward)
    items = []
    for item in results:
        items.append(item)
        if results.page_iter.total_scanned_count >= MAX_READ:
            break  # enough read for one answer; the cursor resumes after this item
    return Page(items, encode_cursor(kind, results.last_evaluated_key))
