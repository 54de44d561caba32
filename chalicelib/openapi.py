"""OpenAPI 3.1 generated from the routes `web.endpoint` registered and their
pydantic models: adding a route adds it here; nothing is hand-kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.web import ROUTES, RouteSpec

_ERROR_TEXT = {400: "Validation error or invalid input", 401: "Missing, invalid or expired token",
               403: "Authenticated but not allowed", 404: "Unknown id", 409: "Business refusal",
               415: "Unsupported media type"}

ERROR_ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "array", "items": {"type": "object"}}},
    }},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def _operation(spec: RouteSpec, path_params: list[str]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "operationId": f"{spec.method.lower()}_{spec.path}"}
    params = [{"name": p, "in": "path", "required": True,
               "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,64}$"}} for p in path_params]
    if spec.query is not None:
        params += _query_parameters(spec.query)
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(spec.body.__name__)}}}
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(spec.response.__name__)}}
    responses: dict[str, Any] = {str(spec.status): ok}
    codes = set(spec.errors) | {400}
    if spec.roles is not None:
        codes |= {401, 403}
        op["security"] = [{"bearer": []}]
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERROR_TEXT.get(code, "Error"),
                                "content": {"application/json": {"schema": _ref("ErrorEnvelope")}}}
    op["responses"] = responses
    return op


def build_openapi() -> dict[str, Any]:
    models: dict[type[BaseModel], str] = {}
    for spec in ROUTES:
        if spec.body is not None:
            models[spec.body] = "validation"
        if spec.response is not None:
            models.setdefault(spec.response, "serialization")
    _, top = models_json_schema([(m, mode) for m, mode in models.items()],  # type: ignore[misc]
                                ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE
    paths: dict[str, Any] = {}
    for spec in sorted(ROUTES, key=lambda s: (s.path, s.method)):
        path_params = [seg[1:-1] for seg in spec.path.split("/") if seg.startswith("{")]
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, path_params)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Storeloop", "version": "1.0.0",
                 "description": "Store-linked promotions: LBS groups, per-store coupons, scheduled posts."},
        "paths": paths,
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
