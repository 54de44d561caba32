"""Optimistic concurrency at the HTTP edge: `ETag` on reads, `If-Match` on
writes (RFC 9110 §13.1.1), and JSON merge patch (RFC 7386).

An ETag is derived from what the item already carries (a template's
`version`, a store's or staff member's `updated_at`); the write itself is
conditional on that same value, so a check in Python is never what keeps
two operators from overwriting each other: the 412 comes from DynamoDB's
condition when the item moved on between our read and our write."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from pydantic import ConfigDict

from chalicelib.errors import StoreloopError, ValidationFailed
from chalicelib.schema import ApiModel


class MergePatch(ApiModel):
    """A JSON merge patch (RFC 7386): the fields to change; `null` clears one."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    def patch(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PreconditionFailed(StoreloopError):
    status, code = 412, "precondition_failed"
    default_message = "this was changed by someone else since you read it; reload and try again"


def of_version(version: int) -> str:
    return f'"v{int(version)}"'


def of_time(at: datetime) -> str:
    return f'"t{int(at.timestamp() * 1_000_000)}"'


def require(if_match: str | None, current: str) -> None:
    """Refuse (412) when the client's If-Match names another version. `*`
    or no header = unconditional (the v1 contract's behaviour)."""
    if if_match is None or if_match.strip() == "*":
        return
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if current not in tags:
        raise PreconditionFailed()


def refuse_read_only(patch: dict[str, Any], accepted: Mapping[str, Collection[Any]]) -> None:
    """A merge patch that would change a field a client could mean to set
    but may not set here (a template's `status`, an id, a staff member's
    `tokens_valid_after`) is 400, not silently dropped (`{"status":
    "ended"}` on a template answered 200 and left it active). `accepted`
    holds, per such field, the values that count as sent back as read
    (instants compared as instants). Fields the server works out (versions,
    `updated_at`, stock left, `open_now`) are not listed: a GET body sent
    back after they moved is still fine."""
    changed = [name for name, values in accepted.items()
               if name in patch and not any(_same(patch[name], value) for value in values)]
    if changed:
        raise ValidationFailed.fields([{"field": name, "problem": "read-only: it cannot be changed here"}
                                       for name in changed])


def _same(sent: Any, held: Any) -> bool:
    if sent == held:
        return True
    if isinstance(sent, str) and isinstance(held, str):
        try:
            return datetime.fromisoformat(sent.replace("Z", "+00:00")) == datetime.fromisoformat(
                held.replace("Z", "+00:00"))
        except ValueError:
            return False
    return False


MAX_PATCH_DEPTH = 16  # our resources nest 2 deep; deeper is refused, never a RecursionError


def merge_patch(target: Any, patch: Any, depth: int = 0) -> Any:
    """RFC 7386: objects merge recursively, `null` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch) if depth < MAX_PATCH_DEPTH else _too_deep()
    if depth >= MAX_PATCH_DEPTH:
        _too_deep()
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value, depth + 1)
    return result


def _too_deep() -> Any:
    raise ValidationFailed.field("body", f"nested more than {MAX_PATCH_DEPTH} levels")
