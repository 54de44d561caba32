"""Structured JSON logs with the request id and acting role on every line,
and one access line per HTTP request (`access`): route template, status,
latency, actor and the business ids the request touched.

Tokens and phone numbers never belong in a log; the redactor is a safety net
for free text (exception messages, echoed input), not the first line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

_REDACTIONS = [
    (re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[jwt redacted]"),
    (re.compile(r"(?<!\d)(?:\+?86)?(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
]


def redact(text: str) -> str:
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **(_context.get() or {}),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        for key, value in entry.items():
            if isinstance(value, str) and key not in ("ts", "level", "logger", "message"):
                entry[key] = redact(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def bind(**values: Any) -> None:
    """Attach values (request_id, role, ...) to every log line of this request."""
    _context.set({**(_context.get() or {}), **values})


def clear() -> None:
    _context.set({})
    _touched.set({})


def current() -> dict[str, Any]:
    return dict(_context.get() or {})


def request_id() -> str | None:
    value = (_context.get() or {}).get("request_id")
    return str(value) if value else None


_touched: ContextVar[dict[str, str] | None] = ContextVar("log_touched", default=None)
_ID_SUFFIXES = ("_id",)


def touch(**ids: Any) -> None:
    """Record business ids (store_id, coupon_id, ...) for this request's access line."""
    touched = dict(_touched.get() or {})
    touched.update({k: str(v) for k, v in ids.items() if v is not None and k.endswith(_ID_SUFFIXES)})
    _touched.set(touched)


def touch_from(result: Any) -> None:
    """The top-level `*_id` fields of a response model are the ids it touched."""
    from pydantic import BaseModel  # here, not at import: `import app` loads no pydantic model machinery

    if isinstance(result, BaseModel):
        touch(**{k: v for k, v in result.__dict__.items() if isinstance(v, str | int) and not isinstance(v, bool)})


def access(route: str, status: int, latency_ms: float) -> None:
    """The request's one access line (written by the HTTP middleware)."""
    get_logger("access").info("access", extra={"fields": {
        "route": (_context.get() or {}).get("route") or route, "status": status,
        "latency_ms": round(latency_ms, 1), "ids": dict(_touched.get() or {})}})


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is now (Lambda and test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


# Not "storeloop": that is the Chalice app's own logger (app.log), which
# Chalice sets to ERROR with its own handler; ours must not inherit that.
ROOT = "storeloop_svc"


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"{ROOT}.{name}")
    root = logging.getLogger(ROOT)
    if not root.handlers:
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    return logger


@contextmanager
def invocation(service: str, event: Any = None) -> Iterator[None]:
    """A schedule or queue handler's scope: every line carries the Lambda
    request id (`aws_request_id` of the event's context) and the handler's
    name; what it counted is flushed as one metrics line at the end."""
    from chalicelib import metrics

    context = getattr(event, "context", None)
    request = getattr(context, "aws_request_id", None) or (
        context.get("aws_request_id") if isinstance(context, dict) else None)
    clear()
    bind(request_id=str(request or uuid.uuid4()), handler=service)
    try:
        yield
    finally:
        metrics.flush(service)
        clear()
