"""What the current request carries that deep layers may need, without
passing it through every signature: its `Idempotency-Key`. `web.py` sets it
for the request; services read it to derive deterministic ids and
ClientRequestTokens, so a retried request writes the same items again
(and recognises its own earlier commit) instead of new ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from chalicelib.txn import token_for

_key: ContextVar[str | None] = ContextVar("storeloop_idempotency_key", default=None)


@contextmanager
def scope(idempotency_key: str | None) -> Iterator[None]:
    token = _key.set(idempotency_key)
    try:
        yield
    finally:
        _key.reset(token)


def idempotency_key() -> str | None:
    return _key.get()


def derived_id(prefix: str, *parts: str) -> str | None:
    """A stable id for what this request writes (None without a key): the
    same key, actor and target give the same id on every retry."""
    key = _key.get()
    if key is None:
        return None
    return f"{prefix}{token_for(key, *parts)[:24]}"
