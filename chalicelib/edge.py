"""The lean HTTP edge `app.py` imports: the route proxies from the generated
route table, the middleware (error envelope for Chalice's own 405/415, the
access line, CORS headers), the CORS preflight views and the JSON/envelope
responses. Nothing here imports a capability, a pydantic model or a
PynamoDB model: a capability's `routes.py` (and with it its schemas,
models and services) is imported by the first request that needs it
(docs/cold_start.md). `web.py` holds the `endpoint` machinery those
`routes.py` modules use."""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib import logs, metrics
from chalicelib.errors import (
    Forbidden,
    InternalError,
    MethodNotAllowed,
    StoreloopError,
    UnsupportedMediaType,
    ValidationFailed,
)
from chalicelib.route_table import ROUTES, RouteEntry
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from chalice import Chalice
    from chalice.app import Request

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
# Routes POS systems call (`pos=True`) require an API Gateway API key (header
# `x-api-key`, usage plan in infra/) on stages that set this, read at import
# as Chalice packages the API from it. chalice local does not check keys.
POS_API_KEYS_REQUIRED = os.environ.get("STORELOOP_POS_API_KEYS") == "required"


def api_key_required(pos: bool) -> bool:
    """Whether a route needs `x-api-key` here: a POS route on a stage that requires keys."""
    return pos and POS_API_KEYS_REQUIRED


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from pydantic import BaseModel  # here, not at import: `import app` loads no pydantic model machinery

    if isinstance(payload, BaseModel):
        body = payload.model_dump_json()
    else:
        body = json.dumps(payload, ensure_ascii=False)
    return Response(body=body, status_code=status,
                    headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_response(err: StoreloopError, request_id: str | None = None) -> Response:
    envelope = {"error": {"code": err.code, "message": err.message, "details": err.details}}
    headers = {"x-request-id": request_id} if request_id else {}
    if err.retry_after_s is not None:
        headers["Retry-After"] = str(err.retry_after_s)
    return json_response(envelope, err.status, headers)


# --- routes: one proxy view per table entry, the real view imported on first call

def mount(app: Chalice) -> None:
    """Register every HTTP route of `chalicelib/route_table.py` on `app`
    (path, method, view name, content types, API key, docstring: what
    `chalice package` and Chalice's dispatch read). Each view is a proxy
    that imports its capability's `routes.py` on its first call and then
    calls the real view; `python -m devtools.route_table --write` regenerates
    the table and a unit test fails while it is stale."""
    for entry in ROUTES:
        app.route(entry.path, methods=[entry.method], name=entry.view, content_types=list(entry.content_types),
                  api_key_required=api_key_required(entry.pos))(_proxy(entry))


def _proxy(entry: RouteEntry) -> Callable[..., Any]:
    real: list[Callable[..., Any]] = []

    def view(**path_params: str) -> Any:
        if not real:
            real.append(module_routes(entry.module)[(entry.path, entry.method)].view_function)
        return real[0](**path_params)

    view.__name__ = view.__qualname__ = entry.view
    view.__doc__ = entry.doc  # chalice package: the operation's summary and description
    return view


_MODULE_ROUTES: dict[str, dict[tuple[str, str], Any]] = {}
_RESOLVING = threading.RLock()  # re-entrant: a routes module may import another capability's


def module_routes(module: str) -> dict[tuple[str, str], Any]:
    """Import a capability's `routes.py` and read its routes as Chalice
    registers them (`chalice.app.RouteEntry` by (path, method)): its
    blueprint on a scratch app of its own, once per process (Chalice's
    deferred registrations can be replayed only once). The proxies and
    `devtools.route_table` both read routes through here."""
    routes = _MODULE_ROUTES.get(module)
    if routes is None:
        with _RESOLVING:  # chalice local serves on threads: register each blueprint once
            routes = _MODULE_ROUTES.get(module)
            if routes is None:
                from chalice import Chalice

                scratch = Chalice(app_name=module)
                scratch.register_blueprint(importlib.import_module(module).bp)
                routes = _MODULE_ROUTES[module] = {(path, method): route for path, views in scratch.routes.items()
                                                   for method, route in views.items()}
    return routes


def import_route_modules() -> None:
    """Import every capability's `routes.py` (each records its `RouteSpec`s
    in `web.ROUTES`) and resolve its views for the proxies: for whatever
    needs the whole list (the OpenAPI document, the init step with
    `STORELOOP_PRELOAD=all`, tests). `web.all_routes()` is the usual way in."""
    for module in dict.fromkeys(entry.module for entry in ROUTES):
        module_routes(module)


# --- the request: the middleware sees it before any view runs

_request: ContextVar[Request | None] = ContextVar("request", default=None)  # per thread under chalice local


def current_request() -> Request:
    """The request being answered (what `bp.current_request` gives a
    registered blueprint; the routes' blueprints are never registered on the
    app, their views are reached through the proxies)."""
    request = _request.get()
    if request is None:
        raise RuntimeError("no current request: the app must register edge.envelope_framework_errors")
    return request


_CHALICE_ERRORS: dict[int, type[StoreloopError]] = {
    405: MethodNotAllowed, 415: UnsupportedMediaType, 400: ValidationFailed, 500: InternalError,
}


def envelope_framework_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware around every request: errors Chalice produces before
    a view runs (405, 415) come back in `{"Code", "Message"}` form; rewrite
    them into the envelope. Then write the request's one access line and its
    metrics, whoever answered. It also keeps the request for
    `current_request()`."""
    started = time.perf_counter()
    logs.clear()
    token = _request.set(event)
    context = getattr(event, "context", None) or {}
    request_id = str(context.get("requestId") or uuid.uuid4())
    logs.bind(request_id=request_id)
    try:
        response = get_response(event)
    finally:
        _request.reset(token)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        err_cls = _CHALICE_ERRORS.get(response.status_code, StoreloopError)
        err = err_cls(str(body.get("Message", "")) or None)
        enveloped = error_response(err, request_id)
        enveloped.status_code = response.status_code
        enveloped.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
        logs.bind(code=err.code)
        response = enveloped
    method = str(getattr(event, "method", "") or context.get("httpMethod", ""))
    route = f"{method} {context.get('resourcePath') or getattr(event, 'path', '')}"
    logs.access(route, response.status_code, (time.perf_counter() - started) * 1000)
    metrics.request_done(logs.current().get("operation"), response.status_code,
                         (time.perf_counter() - started) * 1000, logs.current().get("code"))
    return response


def cors_headers(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: CORS headers for the console origins in
    `STORELOOP_CORS_ORIGINS` (none by default). Preflight (OPTIONS) is
    answered by the views `add_preflight` registers."""
    response = get_response(event)
    origin = (event.headers or {}).get("origin")
    if origin and origin in get_settings().cors_origins:
        response.headers.update({
            "Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": "ETag, x-request-id, Retry-After"})
    return response


# Request headers a cross-origin console may send (its preflight lists them).
PREFLIGHT_ALLOW_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, x-request-id"
PREFLIGHT_MAX_AGE_S = 600


def add_preflight(app: Any) -> None:
    """An OPTIONS view on every path of the API (call once, after every
    route is registered). Chalice's `cors=` route option cannot serve
    here: its CORSConfig is one static origin, baked into a MOCK integration
    when the API is packaged, while `STORELOOP_CORS_ORIGINS` is a list read
    at run time. So the preflight reaches the Lambda (browsers cache it for
    `Access-Control-Max-Age`), and answers:

    - a listed `Origin`: 204, `Access-Control-Allow-Methods` (the path's
      methods), `-Allow-Headers`, `-Max-Age`; `cors_headers` adds
      `Access-Control-Allow-Origin` and `Vary: Origin`;
    - any other `Origin` (or none configured): 403 `forbidden`, no CORS
      headers, so the browser blocks the cross-origin call;
    - no `Origin` (not a CORS preflight): 204 with `Allow`."""
    for number, (path, views) in enumerate(sorted(app.routes.items())):
        if "OPTIONS" in views:
            continue
        methods = sorted(views)
        app.route(path, methods=["OPTIONS"], name=f"preflight_{number}")(_preflight_view(app, methods))


def _preflight_view(app: Any, methods: list[str]) -> Callable[..., Response]:
    allowed = ", ".join([*methods, "OPTIONS"])

    def preflight(**_: str) -> Response:
        headers = app.current_request.headers or {}
        origin = headers.get("origin")
        if origin is None:
            return Response(body="", status_code=204, headers={"Allow": allowed})
        if origin not in get_settings().cors_origins:
            return error_response(Forbidden(f"origin {origin[:100]} is not allowed cross-origin"))
        return Response(body="", status_code=204, headers={
            "Access-Control-Allow-Methods": allowed, "Access-Control-Allow-Headers": PREFLIGHT_ALLOW_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S)})

    return preflight
