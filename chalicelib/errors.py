"""Every error a client can see. Domain code raises these; `web.py` maps them
to the error envelope in one place. Capabilities subclass `Conflict` (409)
for their business refusals, each with its contract `code`."""

from __future__ import annotations

from typing import Any


class StoreloopError(Exception):
    status = 400
    code = "bad_request"
    default_message = "bad request"
    retry_after_s: int | None = None  # sent as Retry-After when set

    def __init__(self, message: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details or []


class ConfigError(Exception):
    """The service itself is misconfigured (never a client's fault)."""


class ValidationFailed(StoreloopError):
    code, default_message = "validation_error", "request is not valid"

    @classmethod
    def field(cls, field: str, problem: str) -> ValidationFailed:
        return cls.fields([{"field": field, "problem": problem}])

    @classmethod
    def fields(cls, details: list[dict[str, str]]) -> ValidationFailed:
        """One 400 for several bad fields; the message names the first five."""
        return cls("; ".join(f"{d['field']}: {d['problem']}" for d in details[:5]), details)


class Unauthenticated(StoreloopError):
    status, code, default_message = 401, "unauthenticated", "a valid bearer token is required"


class Forbidden(StoreloopError):
    status, code, default_message = 403, "forbidden", "not allowed for this caller"


class NotFound(StoreloopError):
    status, code, default_message = 404, "not_found", "no such resource"


class MethodNotAllowed(StoreloopError):
    status, code, default_message = 405, "method_not_allowed", "method not allowed on this resource"


class UnsupportedMediaType(StoreloopError):
    status, code, default_message = 415, "unsupported_media_type", "send application/json"


class Conflict(StoreloopError):
    status, code, default_message = 409, "conflict", "refused"


class Unavailable(StoreloopError):
    """503 `try_again`: the request lost races (or DynamoDB stayed unhealthy)
    for its whole time budget. Nothing was half-written; retrying is safe,
    and with an `Idempotency-Key` it never doubles anything."""

    status, code, default_message = 503, "try_again", "busy right now; try again"

    def __init__(self, message: str | None = None, retry_after_s: int = 1):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InternalError(StoreloopError):
    status, code, default_message = 500, "internal_error", "internal error; it has been logged"
