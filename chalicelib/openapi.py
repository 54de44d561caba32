"""OpenAPI 3.1 generated from the routes `web.endpoint` registered and their
pydantic models: adding a route adds it here; nothing about a route is
hand-kept except the examples below (which tests validate against the models).

What a client generator gets: one readable operationId per operation (the
view function's name, camelCased, or `operation_id=`), a tag per capability,
the roles allowed in each description, every error the route declares as a
response whose `error.code` is an enum of exactly those codes, typed
`error.details` items, `x-request-id` on every answer, `Retry-After` on 503,
`Idempotency-Key` on POSTs. The test suite runs with STORELOOP_STRICT_ERRORS=1,
so a route answering a code it does not declare fails its tests."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.errors import StoreloopError
from chalicelib.web import ID_PATTERN, ROUTES, RouteSpec, all_routes

TITLE = "Storeloop"
VERSION = "2.0.0"

TAGS: dict[str, str] = {
    "stores": "Stores and nearby search",
    "staff": "Store staff roster",
    "members": "Member profiles",
    "groups": "Per-store WeCom groups: joining and group settings",
    "coupons": "Coupon templates, claims, the wallet and redemption",
    "campaigns": "Daily post slots and their posts",
    "payments": "Payments that drive member tiers",
    "stats": "Per-store daily counters",
    "inventory": "Store inventory used by clearance",
    "wecom": "WeCom: store join ways, the group ledger, WeCom's signed callbacks",
}

_STATUS_TEXT = {400: "Invalid input", 401: "Missing, invalid or expired bearer token",
                403: "Authenticated but not allowed", 404: "Unknown id", 405: "Method not allowed",
                409: "Business refusal", 422: "Idempotency-Key reused with another body",
                412: "The resource changed since it was read (If-Match)",
                415: "Send application/json", 500: "Internal error (logged with the request id)",
                502: "WeCom did not answer or refused (the code says which)",
                503: "Busy: nothing was written; retry after `Retry-After` seconds (same Idempotency-Key)"}

ERROR_DETAIL: dict[str, Any] = {
    "type": "object", "required": ["field", "problem"],
    "properties": {"field": {"type": "string", "description": "the input field, e.g. `body.lat` or `store_id`",
                             "examples": ["store_id"]},
                   "problem": {"type": "string", "examples": ["Field required"]}},
}

HEADERS: dict[str, Any] = {
    "RequestId": {"description": "Correlates the answer with the server's log lines; quote it in bug reports.",
                  "schema": {"type": "string"}},
    "RetryAfter": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer", "minimum": 0}},
    "ETag": {"description": "The resource's version; send it back as `If-Match` to update it.",
             "schema": {"type": "string"}},
}

# Hand-written examples for the operations a mini-program uses first; the
# tests validate each against its pydantic model.
EXAMPLES: dict[str, dict[str, Any]] = {
    "joinGroup": {
        "request": {"lat": 31.2304, "lng": 121.4737, "coord": "gcj02"},
        "response": {"group_id": "29329.1", "store_id": "29329", "seq": 1, "member_count": 37,
                     "capacity": 200, "chat_ref": None},
    },
    "claimCoupon": {
        "request": {"store_id": "29329"},
        "response": {"coupon_id": "c-01HZX3", "template_id": "weekend-10", "store_id": "29329",
                     "code": "SL2-7KQ4-M9XD-3TPA", "value": 1000, "expires_at": "2026-11-30T15:59:59Z",
                     "status": "claimed", "title": "10 yuan off", "kind": "amount_off", "min_spend_fen": 5000,
                     "boosted": False},
    },
    "getWallet": {
        "response": {"coupons": [{
            "coupon_id": "c-01HZX3", "template_id": "weekend-10", "store_id": "29329", "title": "10 yuan off",
            "kind": "amount_off", "value": 1000, "min_spend_fen": 5000, "status": "claimed",
            "claimed_at": "2026-11-25T02:00:00Z", "expires_at": "2026-11-30T15:59:59Z",
            "code": "SL2-7KQ4-M9XD-3TPA"}]},
    },
    "redeemCoupon": {
        "request": {"code": "SL2-7KQ4-M9XD-3TPA", "order_ref": "POS-0001", "spend_fen": 8800},
        "response": {"redemption_id": "r-01HZX9", "coupon_id": "c-01HZX3", "template_id": "weekend-10",
                     "member_id": "m-1001", "store_id": "29329", "staff_id": "clerk-1",
                     "redeemed_at": "2026-11-25T03:00:00Z", "discount_fen": 1000, "order_ref": "POS-0001",
                     "spend_fen": 8800, "status": "redeemed", "reversed_at": None, "reversed_by": None,
                     "coupon_status": "redeemed"},
    },
    "postPayment": {
        "request": {"payment_id": "pos-29329-000123", "openid": "oABC123", "store_id": "29329", "amount_fen": 8800,
                    "paid_at": "2026-11-25T03:00:00Z"},
        "response": {"payment_id": "pos-29329-000123", "member_id": "m-1001", "store_id": "29329",
                     "amount_fen": 8800, "paid_at": "2026-11-25T03:00:00Z", "duplicate": False, "tier": "silver"},
    },
    "putStore": {
        "request": {"name": "人民广场店", "city": "上海市", "lat": 31.2304, "lng": 121.4737, "coord": "gcj02",
                    "member_day": "FRI", "idle_hour": "16:00"},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def all_error_classes() -> list[type[StoreloopError]]:
    seen: dict[str, type[StoreloopError]] = {}
    for spec in ROUTES:
        for cls in spec.error_classes():
            seen.setdefault(cls.code, cls)
    return sorted(seen.values(), key=lambda c: (c.status, c.code))


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _error_response(status: int, classes: list[type[StoreloopError]]) -> dict[str, Any]:
    codes = sorted({cls.code for cls in classes})
    first = classes[0]
    schema = {"allOf": [_ref("ErrorEnvelope"), {"type": "object", "properties": {"error": {
        "type": "object", "properties": {"code": {"type": "string", "enum": codes}}}}}]}
    headers: dict[str, Any] = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    if status == 503 or any(getattr(cls, "retry_after_s", None) for cls in classes):
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    text = _STATUS_TEXT.get(status, "Error")
    return {"description": f"{text}: " + ", ".join(f"`{c}`" for c in codes), "headers": headers,
            "content": {"application/json": {"schema": schema, "example": {
                "error": {"code": first.code, "message": first.default_message, "details": []}}}}}


def _description(spec: RouteSpec) -> str:
    who = ("Public: no token." if spec.roles is None else
           "Roles allowed: " + ", ".join(f"`{r}`" for r in spec.roles) + " (bearer token).")
    return f"{spec.description}\n\n{who}".strip()


def _operation(spec: RouteSpec, path_params: list[str], versioned: bool = False) -> dict[str, Any]:
    """`versioned`: some operation on this path takes If-Match, so reads and
    writes of it answer an `ETag`."""
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary, "tags": [spec.tag],
                          "description": _description(spec)}
    params: list[dict[str, Any]] = [{"name": p, "in": "path", "required": True,
                                     "schema": {"type": "string", "pattern": ID_PATTERN}} for p in path_params]
    if spec.query is not None:
        params += _query_parameters(spec.query)
    if spec.method == "POST":
        params.append({"$ref": "#/components/parameters/IdempotencyKey"})
    if spec.if_match:
        params.append({"$ref": "#/components/parameters/IfMatch"})
    if params:
        op["parameters"] = params
    example = EXAMPLES.get(spec.operation_id, {})
    if spec.body is not None:
        media: dict[str, Any] = {"schema": _ref(spec.body.__name__)}
        if "request" in example:
            media["example"] = example["request"]
        op["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok: dict[str, Any] = {"description": "OK" if spec.status == 200 else "Created",
                          "headers": {"x-request-id": {"$ref": "#/components/headers/RequestId"}}}
    if versioned and spec.method in ("GET", "PUT", "PATCH"):
        ok["headers"]["ETag"] = {"$ref": "#/components/headers/ETag"}
    if spec.response is not None:
        media = {"schema": _ref(spec.response.__name__)}
        if "response" in example:
            media["example"] = example["response"]
        ok["content"] = {"application/json": media}
    responses: dict[str, Any] = {str(spec.status): ok}
    by_status: dict[int, list[type[StoreloopError]]] = {}
    for cls in spec.error_classes():
        by_status.setdefault(cls.status, []).append(cls)
    for status in sorted(by_status):
        responses[str(status)] = _error_response(status, by_status[status])
    op["responses"] = responses
    if spec.roles is not None:
        op["security"] = [{"bearer": [], "posApiKey": []} if spec.api_key else {"bearer": []}]
    return op


def build_openapi(server_url: str | None = None) -> dict[str, Any]:
    all_routes()  # every capability's routes.py, which `import app` leaves to their first request
    models: dict[type[BaseModel], str] = {}
    for spec in ROUTES:
        if spec.body is not None:
            models[spec.body] = "validation"
        if spec.response is not None:
            models.setdefault(spec.response, "serialization")
    _, top = models_json_schema([(m, mode) for m, mode in models.items()],  # type: ignore[misc]
                                ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    codes = [cls.code for cls in all_error_classes()]
    schemas["ErrorCode"] = {"type": "string", "enum": codes,
                            "description": "Every `error.code` the API answers; each operation lists its own."}
    schemas["ErrorDetail"] = ERROR_DETAIL
    schemas["ErrorEnvelope"] = {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"],
            "properties": {"code": _ref("ErrorCode"),
                           "message": {"type": "string", "description": "for people; may change"},
                           "details": {"type": "array", "items": _ref("ErrorDetail")}},
        }},
    }
    paths: dict[str, Any] = {}
    versioned = {spec.path for spec in ROUTES if spec.if_match}
    for spec in sorted(ROUTES, key=lambda s: (s.path, s.method)):
        path_params = [seg[1:-1] for seg in spec.path.split("/") if seg.startswith("{")]
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, path_params, spec.path in versioned)
    used_tags = sorted({spec.tag for spec in ROUTES})
    url = server_url or os.environ.get("STORELOOP_PUBLIC_URL") or "/"
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION,
                 "description": "Store-linked promotions: LBS groups, per-store coupons, scheduled posts.\n\n"
                                "Errors share one envelope `{error: {code, message, details}}`; branch on "
                                "`code`, never on `message`. Every answer carries `x-request-id`. POSTs accept "
                                "an `Idempotency-Key`: a retry with the same key and body gets the first "
                                "answer. Instants are RFC 3339 in UTC (`Z`)."},
        "servers": [{"url": url, "description": "this deployment"}],
        "tags": [{"name": t, "description": TAGS.get(t, t)} for t in used_tags],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": HEADERS,
            "parameters": {
                "IfMatch": {"name": "If-Match", "in": "header", "required": False,
                            "description": "The `ETag` you read: the write is refused (412) if it changed since.",
                            "schema": {"type": "string"}},
                "IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": False,
                "description": "Any unique string (a UUID) per logical operation; resend it on retries.",
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "posApiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                              "description": "POS integrators' API Gateway key (usage plan), on POS routes "
                                             "of stages that require it"}},
        },
    }
