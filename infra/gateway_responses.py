"""API-Gateway-level error responses: what a client gets for a path no route
serves (and other errors API Gateway answers itself). infra/template.py
installs them as GatewayResponses; devtools/local_gateway.py makes Chalice's
local emulator answer the same."""

from __future__ import annotations

from typing import Any

UNKNOWN_ROUTE_BODY = {"error": {"code": "not_found", "message": "no such route", "details": []}}

# API Gateway response type -> (status, envelope)
GATEWAY_RESPONSES: dict[str, tuple[int, dict[str, Any]]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, UNKNOWN_ROUTE_BODY),
    "THROTTLED": (429, {"error": {"code": "throttled", "message": "too many requests; slow down",
                                  "details": []}}),
    "QUOTA_EXCEEDED": (429, {"error": {"code": "quota_exceeded", "message": "this API key's quota is used up",
                                       "details": []}}),
    "INVALID_API_KEY": (403, {"error": {"code": "invalid_api_key", "message": "missing or unknown x-api-key",
                                        "details": []}}),
    "DEFAULT_4XX": (400, {"error": {"code": "bad_request", "message": "$context.error.message", "details": []}}),
    "DEFAULT_5XX": (500, {"error": {"code": "internal_error", "message": "$context.error.message", "details": []}}),
}
