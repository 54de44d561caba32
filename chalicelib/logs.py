"""Structured JSON logs with the request id and acting role on every line.

Tokens and phone numbers never belong in a log; the redactor is a safety net
for free text (exception messages, echoed input), not the first line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
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
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def bind(**values: Any) -> None:
    """Attach values (request_id, role, ...) to every log line of this request."""
    _context.set({**(_context.get() or {}), **values})


def clear() -> None:
    _context.set({})


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
