"""The base of every request and response model.

Time in one format: every instant a response carries is UTC with a `Z`
(`2026-11-20T04:00:00Z`), whatever offset it was written with, so the same
field reads the same from create, read and duplicate answers. Where a
person reads a time (error messages, post calendars), it is shown in the
store's local time as well, next to the instant (e.g. `local_date`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, field_serializer


class ApiModel(BaseModel):
    # Validators are built on a model's first use, not at import: a Lambda
    # cold start pays only for the models of the route it serves.
    model_config = ConfigDict(defer_build=True)

    # No return annotation on purpose: pydantic then keeps each field's own
    # type in the serialization JSON schema (with `-> Any` every response
    # field became an untyped `{}` in the OpenAPI document).
    @field_serializer("*", mode="wrap", when_used="json")
    def _instants_in_utc(self, value: Any, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return handler(value)
