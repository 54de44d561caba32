"""The HTTP edge's route machinery: one decorator turns a plain function into
a Chalice route with authentication, pydantic parsing of body and query,
JSON responses, and the error envelope. Every route is also recorded for
the OpenAPI document, so the spec cannot drift from the code. Only the
capabilities' `routes.py` import this module; `app.py` imports the lean
`edge.py` (route proxies from the route table, middleware, responses)."""

from __future__ import annotations

import functools
import inspect
import json
import os
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from chalicelib import edge, etags, idempotency, logs, retry, txn
from chalicelib.auth import Principal, Role, principal_from_header
from chalicelib.clock import get_clock
from chalicelib.db import ensure_bound
from chalicelib.edge import api_key_required, error_response, json_response
from chalicelib.errors import (
    Conflict,
    Forbidden,
    InternalError,
    NotFound,
    StoreloopError,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from chalicelib.settings import get_settings
from chalicelib.staff import roster

log = logs.get_logger("web")

ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
_ID_RE = re.compile(ID_PATTERN)


ErrorDecl = int | type[StoreloopError]
# `errors=(404,)` is shorthand for the plain error of that status.
_BY_STATUS: dict[int, type[StoreloopError]] = {
    400: ValidationFailed, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict, 503: Unavailable,
}
# What any route can answer without declaring it: bad input, a spent retry
# budget, a crash; and, behind a bearer token, the auth layer's refusals.
ALWAYS: tuple[type[StoreloopError], ...] = (ValidationFailed, Unavailable, InternalError)
AUTH_ERRORS: tuple[type[StoreloopError], ...] = (Unauthenticated, Forbidden)  # and the roster's Forbidden
# POSTs take an Idempotency-Key: reusing one for another body, or while its first request runs
IDEMPOTENCY_ERRORS: tuple[type[StoreloopError], ...] = (idempotency.KeyReused, idempotency.InProgress)
# Set in the test suite: a route answering a code its operation does not
# declare becomes a 500, so every refusal a test provokes is checked against
# the OpenAPI document. Deployed, it is only logged (`undeclared_error`).
STRICT_ERRORS_ENV = "STORELOOP_STRICT_ERRORS"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    summary: str
    roles: tuple[Role, ...] | None  # None = public
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    errors: tuple[ErrorDecl, ...] = field(default=())
    operation_id: str = ""  # camelCase of the view function's name unless given
    tag: str = ""  # the capability: chalicelib/<tag>/routes.py
    description: str = ""
    pos: bool = False  # a POS route: `api_key` on stages that require keys (the route table keeps this)
    if_match: bool = False  # the view takes `if_match` (If-Match header); its path's reads answer an ETag

    @property
    def api_key(self) -> bool:
        """API Gateway requires `x-api-key` (POS routes on stages that ask for it)."""
        return api_key_required(self.pos)

    def error_classes(self) -> tuple[type[StoreloopError], ...]:
        declared = [_BY_STATUS[e] if isinstance(e, int) else e for e in self.errors]
        implicit = ALWAYS + (AUTH_ERRORS if self.roles is not None else ()) + \
            (IDEMPOTENCY_ERRORS if self.method == "POST" else ())
        return tuple(dict.fromkeys([*declared, *implicit]))

    def codes(self) -> frozenset[str]:
        return frozenset(cls.code for cls in self.error_classes())


ROUTES: list[RouteSpec] = []


@dataclass(frozen=True)
class WithHeaders:
    """A route's result plus response headers (e.g. `ETag`)."""

    body: Any
    headers: dict[str, str]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _undeclared(spec: RouteSpec, err: StoreloopError) -> StoreloopError:
    if err.code in spec.codes():
        return err
    log.error("undeclared_error", extra={"fields": {"operation": spec.operation_id, "code": err.code}})
    if os.environ.get(STRICT_ERRORS_ENV) == "1":
        return InternalError(f"{spec.operation_id} answered {err.code!r}, which its `errors=` does not declare")
    return err


def _field_name(loc: Iterable[Any], source: str) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or source


def validation_failed(exc: ValidationError, source: str = "body") -> ValidationFailed:
    """`source` names a model-level (cross-field) problem: "body" or "query"."""
    return ValidationFailed.fields([{"field": _field_name(e["loc"], source), "problem": e["msg"]}
                                    for e in exc.errors()])


M = TypeVar("M", bound=BaseModel)
_ABSENT = object()


def _bools_read_as_numbers(data: Any, parsed: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the client sent `true`/`false` and the model kept a number:
    pydantic's lax mode reads `true` as 1 (`"value": true` made a 1-fen
    coupon). A walk of the (small) JSON body beside what it became."""
    if isinstance(data, bool):
        return [path] if isinstance(parsed, int | float) and not isinstance(parsed, bool) else []
    found: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        fields = {(f.alias or name): name for name, f in type(parsed).model_fields.items()} \
            if isinstance(parsed, BaseModel) else {}
        for key, value in data.items():
            if isinstance(parsed, BaseModel):
                sub = getattr(parsed, fields[key]) if key in fields else (parsed.model_extra or {}).get(key, _ABSENT)
            else:
                sub = parsed.get(key, _ABSENT) if isinstance(parsed, dict) else _ABSENT
            if sub is not _ABSENT:
                found += _bools_read_as_numbers(value, sub, (*path, key))
    elif isinstance(data, list) and isinstance(parsed, list | tuple) and len(data) == len(parsed):
        for i, (value, sub) in enumerate(zip(data, parsed, strict=True)):
            found += _bools_read_as_numbers(value, sub, (*path, i))
    return found


def validate(model: type[M], data: Any, source: str = "body") -> M:
    """`model.model_validate(data)`, its problems as one 400 with a detail
    per field, and `true`/`false` refused where a number belongs."""
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc, source) from exc
    bad = _bools_read_as_numbers(data, parsed)
    if bad:
        problem = "must be a number, not true or false"
        raise ValidationFailed.fields([{"field": _field_name(loc, source), "problem": problem} for loc in bad])
    return parsed


def patched(model: type[M], view: dict[str, Any], patch: dict[str, Any],
            accepted: Mapping[str, Collection[Any]]) -> M:
    """A JSON merge patch onto a resource as read (`view`): a field in
    `accepted` it would change is refused (`etags.refuse_read_only`), and
    the merged result is validated as a `model` body (`validate`)."""
    etags.refuse_read_only(patch, accepted)
    return validate(model, etags.merge_patch(view, patch))


def parse_body(raw: bytes | str | None, model: type[BaseModel]) -> BaseModel:
    if not raw:
        raise ValidationFailed.field("body", "a JSON object body is required")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("body", f"malformed JSON: {exc}") from exc
    except RecursionError as exc:  # json.loads on thousands of nested brackets
        raise ValidationFailed.field("body", "JSON nested too deeply") from exc
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "must be a JSON object")
    return validate(model, data)


def parse_query(params: Mapping[str, str] | None, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise validation_failed(exc, "query") from exc


def _check_path_ids(path_params: dict[str, str]) -> None:
    for name, value in path_params.items():
        if not _ID_RE.match(value):
            raise ValidationFailed.field(name, "must be 1-64 characters of A-Z a-z 0-9 _ . : -")


def _route_key(method: str, path: str, path_params: dict[str, str]) -> str:
    return " ".join([method, path, *(f"{k}={v}" for k, v in sorted(path_params.items()))])


def endpoint(bp: Blueprint, method: str, path: str, *, summary: str,
             roles: tuple[Role, ...] | None, body: type[BaseModel] | None = None,
             query: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
             status: int = 200, errors: tuple[ErrorDecl, ...] = (),
             operation_id: str | None = None, pos: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn(principal, *, body=?, query=?, **path_params) -> model` as a route.

    `errors` lists the error classes (or, for the plain one, the status) the
    route may answer; they become the operation's documented responses and
    `code` enums. The function's docstring is the operation's description."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        parts = fn.__module__.split(".")
        spec = RouteSpec(method, path, summary, roles, body, query, response, status, errors,
                         operation_id=operation_id or _camel(fn.__name__),
                         tag=parts[1] if len(parts) > 2 and parts[0] == "chalicelib" else parts[0],
                         description=" ".join((fn.__doc__ or "").split()),
                         pos=pos,
                         if_match="if_match" in inspect.signature(fn).parameters)
        ROUTES.append(spec)

        types = ["application/json", "application/merge-patch+json"] if method == "PATCH" else ["application/json"]

        @bp.route(path, methods=[method], content_types=types, api_key_required=spec.api_key)
        @functools.wraps(fn)
        def view(**path_params: str) -> Response:
            def answer(result: Any) -> Response:
                if isinstance(result, Response):  # e.g. a CSV download
                    return result
                headers = result.headers if isinstance(result, WithHeaders) else {}
                result = result.body if isinstance(result, WithHeaders) else result
                logs.touch_from(result)
                return json_response(result, status, headers)

            request = edge.current_request()
            request_id = logs.request_id() or str((request.context or {}).get("requestId") or uuid.uuid4())
            logs.bind(request_id=request_id, route=f"{method} {path}", operation=spec.operation_id)
            logs.touch(**path_params)
            try:
                principal: Principal | None = None
                if roles is not None:
                    principal = principal_from_header(get_settings().jwt_secret,
                                                      request.headers.get("authorization"), roles)
                    logs.bind(role=principal.role, actor=principal.sub)
                _check_path_ids(path_params)
                ensure_bound()
                if principal is not None:
                    roster.check(principal)
                kwargs: dict[str, Any] = dict(path_params)
                if body is not None:
                    kwargs["body"] = parse_body(request.raw_body, body)
                if query is not None:
                    kwargs["query"] = parse_query(request.query_params, query)
                if spec.if_match:
                    kwargs["if_match"] = request.headers.get("if-match")
                with retry.budget(retry.REQUEST_BUDGET_S):
                    response = idempotency.run(
                        _route_key(method, path, path_params), principal.sub if principal else "-",
                        request.headers.get(idempotency.HEADER) if method == "POST" else None, request.raw_body,
                        get_clock().now(),
                        lambda: answer(fn(principal, **kwargs)))
                response.headers["x-request-id"] = request_id
                return response
            except StoreloopError as err:
                err = _undeclared(spec, err)
                logs.bind(code=err.code)
                return error_response(err, request_id)
            except Exception as exc:  # noqa: BLE001 - the one place unexpected errors become a 5xx envelope
                if txn.is_transient(exc):  # DynamoDB unhealthy past every retry: nothing half-written, retry
                    log.warning("dynamodb unavailable", exc_info=True)
                    logs.bind(code=Unavailable.code)
                    return error_response(Unavailable("storage is busy right now; try again"), request_id)
                log.exception("unhandled error")
                logs.bind(code=InternalError.code)
                return error_response(InternalError(), request_id)

        return view

    return decorate


def all_routes() -> list[RouteSpec]:
    """Every route's spec: imports every capability's `routes.py` (from the
    route table) first, since `import app` imports none of them."""
    edge.import_route_modules()
    return ROUTES
